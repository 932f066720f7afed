// One TPM command sequence, built on the JavaScript thread from validated arguments, run on the
// context's worker thread, and turned into a JavaScript value back on the JavaScript thread.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "tss.h"

namespace selfdeploy {

// The TPM connection a context owns. Touched only by the context's worker thread.
struct Session {
  std::string tcti_conf;  // empty: the tctildr default search
  bool use_default_tcti = true;
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  ESYS_CONTEXT* esys = nullptr;

  ESYS_CONTEXT* Esys() const {
    if (esys == nullptr) Fail("TPM_NOT_OPEN", "session", "the TPM context is not open");
    return esys;
  }
};

class Job {
 public:
  virtual ~Job() = default;
  // Worker thread. Throws TpmFailure.
  virtual void Run(Session& session) = 0;
  // JavaScript thread, after Run returned normally.
  virtual Napi::Value Result(Napi::Env env) = 0;
  // Whether the worker stops after this job (close).
  virtual bool EndsSession() const { return false; }
};

// Factories, one per TPM concern; each parses its arguments on the JavaScript thread and throws
// a TypeError/RangeError for bad input before anything reaches the TPM.
std::unique_ptr<Job> MakeOpenJob();
std::unique_ptr<Job> MakeCloseJob();
std::unique_ptr<Job> MakeGetCapabilityJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeGetRandomJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakePcrReadJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeNvReadJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeReadPublicJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakePrimaryPublicJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeCreateKeyJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeLoadKeyJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakePersistPrimaryJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeActivateCredentialJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeQuoteJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeCertifyJob(const Napi::CallbackInfo& info);
std::unique_ptr<Job> MakeSignJob(const Napi::CallbackInfo& info);

}  // namespace selfdeploy
