// The per-TCTI worker: a FIFO of jobs serviced by one thread, with results delivered to the
// JavaScript thread through a thread-safe function. The thread-safe function holds the event
// loop open only while jobs are pending, and `abandon()` lets a process exit even when a TPM
// never answers (the blocked thread is detached and dies with the process).
#include "context.h"

#include <tss2/tss2_tctildr.h>

#include <thread>

#include "marshal.h"

namespace selfdeploy {

struct Task {
  std::unique_ptr<Job> job;
  std::optional<Napi::Promise::Deferred> deferred;  // none for the finalizer's close
  std::optional<TpmFailure> failure;
  bool counted = false;  // contributes to the pending count that keeps the loop alive
};

class Worker {
 public:
  static void CallJs(Napi::Env env, Napi::Function, Worker* worker, Task* raw);
  using Tsfn = Napi::TypedThreadSafeFunction<Worker, Task, &Worker::CallJs>;

  void Start(Napi::Env env, std::shared_ptr<Worker> self) {
    tsfn_ = Tsfn::New(env, "selfdeploy-tpm", 0, 1, this);
    tsfn_.Unref(env);
    // Registered after the thread-safe function, so it runs before Node tears that down
    // (cleanup hooks run in reverse order of registration).
    hook_ = new std::shared_ptr<EnvGuard>(guard_);
    napi_add_env_cleanup_hook(env, &Worker::OnEnvCleanup, hook_);
    std::thread([self]() { self->Loop(); }).detach();
  }

  bool EnvAlive() {
    std::lock_guard<std::mutex> lock(guard_->mutex);
    return guard_->alive;
  }

  void Post(Napi::Env env, std::unique_ptr<Task> task) {
    if (task->counted && pending_++ == 0 && !abandoned_) tsfn_.Ref(env);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

  // JavaScript thread: stop keeping the event loop alive for this TPM.
  void Abandon(Napi::Env env) {
    if (!abandoned_ && pending_ > 0) tsfn_.Unref(env);
    abandoned_ = true;
  }

 private:
  void Loop() {
    for (;;) {
      std::unique_ptr<Task> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      bool last = task->job->EndsSession();
      try {
        task->job->Run(session_);
      } catch (const TpmFailure& failure) {
        task->failure = failure;
      } catch (const std::exception& e) {
        task->failure = TpmFailure("NATIVE_ERROR", "worker", 0, e.what());
      }
      Deliver(task.release());
      if (last) break;
    }
    std::lock_guard<std::mutex> lock(guard_->mutex);
    if (guard_->alive) tsfn_.Release();
  }

  // Hands a finished task to the JavaScript thread, unless the environment is gone: then the
  // thread-safe function no longer exists and must not be touched.
  void Deliver(Task* raw) {
    std::lock_guard<std::mutex> lock(guard_->mutex);
    if (!guard_->alive || tsfn_.BlockingCall(raw) != napi_ok) delete raw;
  }

  static void OnEnvCleanup(void* arg) {
    auto* holder = static_cast<std::shared_ptr<EnvGuard>*>(arg);
    {
      std::lock_guard<std::mutex> lock((*holder)->mutex);
      (*holder)->alive = false;
    }
    delete holder;
  }

  struct EnvGuard {
    std::mutex mutex;
    bool alive = true;
  };
  std::shared_ptr<EnvGuard> guard_ = std::make_shared<EnvGuard>();
  std::shared_ptr<EnvGuard>* hook_ = nullptr;

  Session session_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<Task>> queue_;
  Tsfn tsfn_;
  // JavaScript thread only.
  size_t pending_ = 0;
  bool abandoned_ = false;

  friend class Context;
};

static Napi::Error ToJsError(Napi::Env env, const TpmFailure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.what());
  error.Set("code", Napi::String::New(env, failure.code()));
  error.Set("call", Napi::String::New(env, failure.call()));
  if (failure.rc() != 0) {
    error.Set("rc", Napi::Number::New(env, failure.rc()));
    error.Set("rcText", Napi::String::New(env, DecodeRc(failure.rc())));
  }
  return error;
}

void Worker::CallJs(Napi::Env env, Napi::Function, Worker* worker, Task* raw) {
  std::unique_ptr<Task> task(raw);
  if (env == nullptr) return;
  if (task->counted && --worker->pending_ == 0 && !worker->abandoned_) worker->tsfn_.Unref(env);
  if (!task->deferred) return;
  Napi::HandleScope scope(env);
  if (task->failure) {
    task->deferred->Reject(ToJsError(env, *task->failure).Value());
    return;
  }
  try {
    task->deferred->Resolve(task->job->Result(env));
  } catch (const Napi::Error& e) {
    task->deferred->Reject(e.Value());
  }
}

// ---- open and close ----

namespace {

class OpenJob : public Job {
 public:
  void Run(Session& s) override {
    if (s.esys != nullptr) return;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(s.use_default_tcti ? nullptr : s.tcti_conf.c_str(), &s.tcti);
    if (rc != TSS2_RC_SUCCESS) {
      s.tcti = nullptr;
      throw TpmFailure("TCTI_UNAVAILABLE", "Tss2_TctiLdr_Initialize", rc,
                       "no TPM answers on TCTI '" +
                           (s.use_default_tcti ? std::string("default") : s.tcti_conf) +
                           "': " + DecodeRc(rc));
    }
    rc = Esys_Initialize(&s.esys, s.tcti, nullptr);
    if (rc != TSS2_RC_SUCCESS) {
      Tss2_TctiLdr_Finalize(&s.tcti);
      s.esys = nullptr;
      Check(rc, "Esys_Initialize");
    }
    try {
      rc = Probe(s.esys);
      if (IsNotInitialized(rc)) {
        // A TPM that never saw TPM2_Startup (swtpm without startup-clear): start it.
        Check(Esys_Startup(s.esys, TPM2_SU_CLEAR), "Esys_Startup");
        rc = Probe(s.esys);
      }
      Check(rc, "Esys_GetCapability");
    } catch (...) {
      Esys_Finalize(&s.esys);
      Tss2_TctiLdr_Finalize(&s.tcti);
      throw;
    }
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  static TSS2_RC Probe(ESYS_CONTEXT* esys) {
    TPMI_YES_NO more = TPM2_NO;
    Out<TPMS_CAPABILITY_DATA> data;
    return Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, &more, data.ptr());
  }
};

class CloseJob : public Job {
 public:
  void Run(Session& s) override {
    if (s.esys != nullptr) Esys_Finalize(&s.esys);
    if (s.tcti != nullptr) Tss2_TctiLdr_Finalize(&s.tcti);
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }
  bool EndsSession() const override { return true; }
};

}  // namespace

std::unique_ptr<Job> MakeOpenJob() { return std::make_unique<OpenJob>(); }
std::unique_ptr<Job> MakeCloseJob() { return std::make_unique<CloseJob>(); }

// ---- the JavaScript class ----

template <std::unique_ptr<Job> (*Factory)(const Napi::CallbackInfo&)>
Napi::Value Context::Call(const Napi::CallbackInfo& info) {
  return Enqueue(info.Env(), Factory(info));
}

Napi::Function Context::Define(Napi::Env env) {
  return DefineClass(
      env, "TpmContext",
      {
          InstanceMethod("open", &Context::Open),
          InstanceMethod("close", &Context::Close),
          InstanceMethod("abandon", &Context::Abandon),
          InstanceMethod("getCapability", &Context::Call<MakeGetCapabilityJob>),
          InstanceMethod("getRandom", &Context::Call<MakeGetRandomJob>),
          InstanceMethod("pcrRead", &Context::Call<MakePcrReadJob>),
          InstanceMethod("nvRead", &Context::Call<MakeNvReadJob>),
          InstanceMethod("readPublic", &Context::Call<MakeReadPublicJob>),
          InstanceMethod("primaryPublic", &Context::Call<MakePrimaryPublicJob>),
          InstanceMethod("createKey", &Context::Call<MakeCreateKeyJob>),
          InstanceMethod("loadKey", &Context::Call<MakeLoadKeyJob>),
          InstanceMethod("persistPrimary", &Context::Call<MakePersistPrimaryJob>),
          InstanceMethod("activateCredential", &Context::Call<MakeActivateCredentialJob>),
          InstanceMethod("quote", &Context::Call<MakeQuoteJob>),
          InstanceMethod("certify", &Context::Call<MakeCertifyJob>),
          InstanceMethod("sign", &Context::Call<MakeSignJob>),
      });
}

Context::Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
  Napi::Env env = info.Env();
  worker_ = std::make_shared<Worker>();
  if (info.Length() > 0 && info[0].IsString()) {
    worker_->session_.tcti_conf = info[0].As<Napi::String>().Utf8Value();
    worker_->session_.use_default_tcti = false;
    if (worker_->session_.tcti_conf.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, "tcti must not contain NUL characters");
    }
  } else if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
    throw Napi::TypeError::New(env, "tcti must be a string, null or undefined");
  }
  worker_->Start(env, worker_);
}

Context::~Context() {
  // Garbage-collected without close(): finalize the ESYS context on the worker thread.
  if (!closing_ && worker_ && worker_->EnvAlive()) {
    auto task = std::make_unique<Task>();
    task->job = MakeCloseJob();
    std::lock_guard<std::mutex> lock(worker_->mutex_);
    worker_->queue_.push_back(std::move(task));
    worker_->ready_.notify_one();
  }
}

Napi::Value Context::Enqueue(Napi::Env env, std::unique_ptr<Job> job) {
  if (closing_) {
    auto deferred = Napi::Promise::Deferred::New(env);
    Napi::Error error = Napi::Error::New(env, "the TPM context is closed");
    error.Set("code", Napi::String::New(env, "TPM_CLOSED"));
    deferred.Reject(error.Value());
    return deferred.Promise();
  }
  auto task = std::make_unique<Task>();
  task->job = std::move(job);
  task->deferred = Napi::Promise::Deferred::New(env);
  task->counted = true;
  Napi::Value promise = task->deferred->Promise();
  if (task->job->EndsSession()) closing_ = true;
  worker_->Post(env, std::move(task));
  return promise;
}

Napi::Value Context::Open(const Napi::CallbackInfo& info) { return Enqueue(info.Env(), MakeOpenJob()); }

Napi::Value Context::Close(const Napi::CallbackInfo& info) {
  if (closing_) {
    // Closing twice is harmless: the first close already finalizes the context.
    auto deferred = Napi::Promise::Deferred::New(info.Env());
    deferred.Resolve(info.Env().Undefined());
    return deferred.Promise();
  }
  return Enqueue(info.Env(), MakeCloseJob());
}

Napi::Value Context::Abandon(const Napi::CallbackInfo& info) {
  worker_->Abandon(info.Env());
  if (!closing_) {
    // Finalize once whatever is stuck returns; nobody waits for it.
    auto task = std::make_unique<Task>();
    task->job = MakeCloseJob();
    closing_ = true;
    worker_->Post(info.Env(), std::move(task));
  }
  return info.Env().Undefined();
}

}  // namespace selfdeploy
