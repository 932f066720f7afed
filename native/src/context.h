// A connection to one TPM (one TCTI): one ESYS context, owned by one worker thread that runs
// the queued jobs in order, so concurrent JavaScript callers are serialized and the JavaScript
// thread never blocks on the TPM.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "job.h"

namespace selfdeploy {

struct Task;
class Worker;

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Context(const Napi::CallbackInfo& info);
  ~Context() override;

 private:
  Napi::Value Enqueue(Napi::Env env, std::unique_ptr<Job> job);
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Abandon(const Napi::CallbackInfo& info);

  template <std::unique_ptr<Job> (*Factory)(const Napi::CallbackInfo&)>
  Napi::Value Call(const Napi::CallbackInfo& info);

  std::shared_ptr<Worker> worker_;
  bool closing_ = false;
};

}  // namespace selfdeploy
