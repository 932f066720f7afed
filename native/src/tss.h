// Ownership and failure types shared by every TPM command in the addon.
// RAII owners make sure no code path leaks an Esys_Free'd buffer, an ESYS resource or a
// transient TPM object (swtpm has no resource manager: only about three transient objects fit).
#pragma once

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace selfdeploy {

using Bytes = std::vector<uint8_t>;

// A failed TPM or TSS call. `code` is a stable selfdeploy code ("TSS2_RC" when the TSS or the
// TPM answered with a return code, something more specific otherwise).
class TpmFailure : public std::runtime_error {
 public:
  TpmFailure(std::string code, std::string call, TSS2_RC rc, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)), call_(std::move(call)), rc_(rc) {}

  const std::string& code() const { return code_; }
  const std::string& call() const { return call_; }
  TSS2_RC rc() const { return rc_; }

 private:
  std::string code_;
  std::string call_;
  TSS2_RC rc_;
};

// Decoded text of a TSS2 return code (Tss2_RC_Decode's buffer is thread-local; copy it at once).
std::string DecodeRc(TSS2_RC rc);

// Throws a TpmFailure for any rc other than success.
void Check(TSS2_RC rc, const char* call);

[[noreturn]] void Fail(const std::string& code, const std::string& call, const std::string& message);

// TPM_RC_HANDLE (TPM 2.0 Part 2 §6.6): the handle does not reference a loaded object or NV index.
bool IsMissingHandle(TSS2_RC rc);

// TPM_RC_INITIALIZE: TPM2_Startup was not yet sent.
bool IsNotInitialized(TSS2_RC rc);

// An output parameter the ESAPI allocates; freed with Esys_Free on scope exit.
template <class T>
class Out {
 public:
  Out() = default;
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;
  ~Out() { Esys_Free(ptr_); }
  T** ptr() { return &ptr_; }
  T* get() const { return ptr_; }
  T* operator->() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  T* ptr_ = nullptr;
};

// An ESYS resource for a TPM object or session. Transient objects and sessions are flushed
// from the TPM; persistent objects only have their ESYS resource released.
class Object {
 public:
  enum class Kind { kTransient, kPersistent };

  Object() = default;
  Object(ESYS_CONTEXT* esys, ESYS_TR tr, Kind kind) : esys_(esys), tr_(tr), kind_(kind) {}
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  Object(Object&& other) noexcept { *this = std::move(other); }
  Object& operator=(Object&& other) noexcept {
    if (this != &other) {
      Release();
      esys_ = other.esys_;
      tr_ = other.tr_;
      kind_ = other.kind_;
      other.tr_ = ESYS_TR_NONE;
    }
    return *this;
  }
  ~Object() { Release(); }

  ESYS_TR get() const { return tr_; }
  bool persistent() const { return kind_ == Kind::kPersistent; }

  // Flushes now, so that the slot is free for the next object of the same command sequence.
  void Release() {
    if (tr_ == ESYS_TR_NONE || esys_ == nullptr) return;
    if (kind_ == Kind::kTransient) {
      Esys_FlushContext(esys_, tr_);
    } else {
      Esys_TR_Close(esys_, &tr_);
    }
    tr_ = ESYS_TR_NONE;
  }

 private:
  ESYS_CONTEXT* esys_ = nullptr;
  ESYS_TR tr_ = ESYS_TR_NONE;
  Kind kind_ = Kind::kTransient;
};

}  // namespace selfdeploy
