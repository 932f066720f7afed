// Signing a digest with a non-restricted key (the device key: JWT client assertions, CSRs).
#include "job.h"
#include "marshal.h"
#include "objects.h"

namespace selfdeploy {

namespace {

class SignJob : public Job {
 public:
  SignJob(PrimarySpec parent, KeyBlob key, TPM2B_DIGEST digest)
      : parent_(std::move(parent)), key_(key), digest_(digest) {}

  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    Object key = LoadKeyUnder(esys, parent_, key_);
    TPMT_SIG_SCHEME scheme{};
    scheme.scheme = TPM2_ALG_NULL;  // the key's own scheme
    // A NULL ticket is enough for an unrestricted key (TPM 2.0 Part 3 §20.2).
    TPMT_TK_HASHCHECK validation{};
    validation.tag = TPM2_ST_HASHCHECK;
    validation.hierarchy = TPM2_RH_NULL;
    Out<TPMT_SIGNATURE> signature;
    Check(Esys_Sign(esys, key.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest_, &scheme, &validation,
                    signature.ptr()),
          "Esys_Sign");
    signature_ = Marshal(*signature.get(), Tss2_MU_TPMT_SIGNATURE_Marshal, "TPMT_SIGNATURE");
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, signature_); }

 private:
  PrimarySpec parent_;
  KeyBlob key_;
  TPM2B_DIGEST digest_;
  Bytes signature_;
};

}  // namespace

std::unique_ptr<Job> MakeSignJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  TPM2B_DIGEST digest = GetSized<TPM2B_DIGEST>(args, "digest");
  if (digest.size != 32 && digest.size != 48 && digest.size != 64) {
    throw Napi::RangeError::New(info.Env(), "digest must be a SHA-256, SHA-384 or SHA-512 digest");
  }
  return std::make_unique<SignJob>(GetPrimarySpec(args, "parent"), GetKeyBlob(args, "key"), digest);
}

}  // namespace selfdeploy
