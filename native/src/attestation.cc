// Attestation: credential activation with the EK (TPM 2.0 Part 1 §24), PCR quotes and
// certification of one key by the AK.
#include <algorithm>

#include "capability.h"
#include "job.h"
#include "marshal.h"
#include "objects.h"

namespace selfdeploy {

namespace {

// The session that authorizes use of the EK. Low-range EK templates (TCG EK Credential Profile
// §2.2.1.4: RSA 2048 L-1, ECC P-256 L-2) clear userWithAuth and require PolicySecret over the
// endorsement hierarchy; high-range templates (e.g. ECC P-384 H-3) set userWithAuth, and an
// empty password authorizes them.
Object EkSession(ESYS_CONTEXT* esys, const Primary& ek) {
  TPM2B_PUBLIC pub;
  if (!Unmarshal(ek.public_area, Tss2_MU_TPM2B_PUBLIC_Unmarshal, &pub)) {
    Fail("TPM_BAD_RESPONSE", "Esys_ReadPublic", "the EK public area does not parse");
  }
  if (pub.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH) return Object();

  TPMT_SYM_DEF symmetric{};
  symmetric.algorithm = TPM2_ALG_NULL;
  ESYS_TR tr = ESYS_TR_NONE;
  Check(Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nullptr,
                              TPM2_SE_POLICY, &symmetric, pub.publicArea.nameAlg, &tr),
        "Esys_StartAuthSession");
  Object session(esys, tr, Object::Kind::kTransient);

  TPM2B_NONCE nonce_tpm{};
  TPM2B_DIGEST cp_hash{};
  TPM2B_NONCE policy_ref{};
  Out<TPM2B_TIMEOUT> timeout;
  Out<TPMT_TK_AUTH> ticket;
  Check(Esys_PolicySecret(esys, ESYS_TR_RH_ENDORSEMENT, session.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &nonce_tpm, &cp_hash, &policy_ref, 0, timeout.ptr(), ticket.ptr()),
        "Esys_PolicySecret");

  Out<TPM2B_DIGEST> digest;
  Check(Esys_PolicyGetDigest(esys, session.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, digest.ptr()),
        "Esys_PolicyGetDigest");
  const TPM2B_DIGEST& policy = pub.publicArea.authPolicy;
  if (digest->size != policy.size || !std::equal(digest->buffer, digest->buffer + digest->size, policy.buffer)) {
    Fail("TPM_EK_POLICY_UNSUPPORTED", "Esys_PolicySecret",
         "the EK's authorization policy is not PolicySecret(TPM_RH_ENDORSEMENT); this EK cannot be used");
  }
  return session;
}

class ActivateCredentialJob : public Job {
 public:
  ActivateCredentialJob(PrimarySpec parent, KeyBlob key, PrimarySpec ek, TPM2B_ID_OBJECT credential,
                        TPM2B_ENCRYPTED_SECRET secret)
      : parent_(std::move(parent)), key_(key), ek_(std::move(ek)), credential_(credential), secret_(secret) {}

  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    Object ak = LoadKeyUnder(esys, parent_, key_);
    Primary ek = AcquirePrimary(esys, ek_);
    Object session = EkSession(esys, ek);
    ESYS_TR ek_auth = session.get() == ESYS_TR_NONE ? ESYS_TR_PASSWORD : session.get();
    Out<TPM2B_DIGEST> cert_info;
    Check(Esys_ActivateCredential(esys, ak.get(), ek.object.get(), ESYS_TR_PASSWORD, ek_auth, ESYS_TR_NONE,
                                  &credential_, &secret_, cert_info.ptr()),
          "Esys_ActivateCredential");
    secret_out_ = Bytes(cert_info->buffer, cert_info->buffer + cert_info->size);
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, secret_out_); }

 private:
  PrimarySpec parent_;
  KeyBlob key_;
  PrimarySpec ek_;
  TPM2B_ID_OBJECT credential_;
  TPM2B_ENCRYPTED_SECRET secret_;
  Bytes secret_out_;
};

class QuoteJob : public Job {
 public:
  QuoteJob(PrimarySpec parent, KeyBlob key, TPM2B_DATA qualifying, TPML_PCR_SELECTION selection)
      : parent_(std::move(parent)), key_(key), qualifying_(qualifying), selection_(selection) {}

  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    Object ak = LoadKeyUnder(esys, parent_, key_);
    TPMT_SIG_SCHEME scheme{};
    scheme.scheme = TPM2_ALG_NULL;  // the AK's own scheme
    Out<TPM2B_ATTEST> quoted;
    Out<TPMT_SIGNATURE> signature;
    Check(Esys_Quote(esys, ak.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying_, &scheme, &selection_,
                     quoted.ptr(), signature.ptr()),
          "Esys_Quote");
    attest_ = Bytes(quoted->attestationData, quoted->attestationData + quoted->size);
    signature_ = Marshal(*signature.get(), Tss2_MU_TPMT_SIGNATURE_Marshal, "TPMT_SIGNATURE");
    ak.Release();
    pcrs_ = ReadPcrs(esys, selection_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("attest", ToBuffer(env, attest_));
    result.Set("signature", ToBuffer(env, signature_));
    result.Set("pcrs", PcrChunksToJs(env, pcrs_));
    return result;
  }

 private:
  PrimarySpec parent_;
  KeyBlob key_;
  TPM2B_DATA qualifying_;
  TPML_PCR_SELECTION selection_;
  Bytes attest_, signature_;
  std::vector<PcrChunk> pcrs_;
};

class CertifyJob : public Job {
 public:
  CertifyJob(PrimarySpec parent, KeyBlob object, KeyBlob signer, TPM2B_DATA qualifying)
      : parent_(std::move(parent)), object_(object), signer_(signer), qualifying_(qualifying) {}

  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    std::vector<Object> keys = LoadKeysUnder(esys, parent_, {&object_, &signer_});
    const Object& object = keys[0];
    const Object& signer = keys[1];
    TPMT_SIG_SCHEME scheme{};
    scheme.scheme = TPM2_ALG_NULL;
    Out<TPM2B_ATTEST> certify_info;
    Out<TPMT_SIGNATURE> signature;
    // objectHandle needs the ADMIN role: with adminWithPolicy clear, its (empty) auth value serves.
    Check(Esys_Certify(esys, object.get(), signer.get(), ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                       &qualifying_, &scheme, certify_info.ptr(), signature.ptr()),
          "Esys_Certify");
    attest_ = Bytes(certify_info->attestationData, certify_info->attestationData + certify_info->size);
    signature_ = Marshal(*signature.get(), Tss2_MU_TPMT_SIGNATURE_Marshal, "TPMT_SIGNATURE");
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("attest", ToBuffer(env, attest_));
    result.Set("signature", ToBuffer(env, signature_));
    return result;
  }

 private:
  PrimarySpec parent_;
  KeyBlob object_, signer_;
  TPM2B_DATA qualifying_;
  Bytes attest_, signature_;
};

}  // namespace

std::unique_ptr<Job> MakeActivateCredentialJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  return std::make_unique<ActivateCredentialJob>(
      GetPrimarySpec(args, "parent"), GetKeyBlob(args, "key"), GetPrimarySpec(args, "ek"),
      GetStruct<TPM2B_ID_OBJECT>(args, "credentialBlob", Tss2_MU_TPM2B_ID_OBJECT_Unmarshal, "TPM2B_ID_OBJECT"),
      GetStruct<TPM2B_ENCRYPTED_SECRET>(args, "secret", Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal,
                                        "TPM2B_ENCRYPTED_SECRET"));
}

std::unique_ptr<Job> MakeQuoteJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  return std::make_unique<QuoteJob>(
      GetPrimarySpec(args, "parent"), GetKeyBlob(args, "key"), GetSized<TPM2B_DATA>(args, "qualifyingData"),
      GetStruct<TPML_PCR_SELECTION>(args, "pcrSelection", Tss2_MU_TPML_PCR_SELECTION_Unmarshal, "TPML_PCR_SELECTION"));
}

std::unique_ptr<Job> MakeCertifyJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  return std::make_unique<CertifyJob>(GetPrimarySpec(args, "parent"), GetKeyBlob(args, "object"),
                                      GetKeyBlob(args, "signer"), GetSized<TPM2B_DATA>(args, "qualifyingData"));
}

}  // namespace selfdeploy
