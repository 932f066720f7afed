// Module entry: exports the TpmContext class and the versions the addon was built against.
#include <napi.h>

#include "context.h"

namespace selfdeploy {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("TpmContext", Context::Define(env));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return exports;
}

}  // namespace selfdeploy

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return selfdeploy::Init(env, exports); }

NODE_API_MODULE(selfdeploy_tpm, InitAddon)
