// Key creation and loading: the EK/SRK publics, AKs and device keys as blobs under the SRK, and
// the SRK made persistent for key files.
#include "job.h"
#include "marshal.h"
#include "objects.h"

namespace selfdeploy {

namespace {

class PrimaryPublicJob : public Job {
 public:
  explicit PrimaryPublicJob(PrimarySpec spec) : spec_(std::move(spec)) {}
  void Run(Session& s) override {
    Primary primary = AcquirePrimary(s.Esys(), spec_);
    public_ = primary.public_area;
    name_ = primary.name;
    persistent_ = primary.persistent;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("public", ToBuffer(env, public_));
    result.Set("name", ToBuffer(env, name_));
    result.Set("persistent", Napi::Boolean::New(env, persistent_));
    return result;
  }

 private:
  PrimarySpec spec_;
  Bytes public_, name_;
  bool persistent_ = false;
};

class CreateKeyJob : public Job {
 public:
  CreateKeyJob(PrimarySpec parent, TPM2B_PUBLIC templ) : parent_(std::move(parent)), templ_(templ) {}
  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    Primary parent = AcquirePrimary(esys, parent_);
    TPM2B_SENSITIVE_CREATE sensitive{};
    TPM2B_DATA outside_info{};
    TPML_PCR_SELECTION creation_pcrs{};
    Out<TPM2B_PRIVATE> priv;
    Out<TPM2B_PUBLIC> pub;
    Out<TPM2B_CREATION_DATA> creation_data;
    Out<TPM2B_DIGEST> creation_hash;
    Out<TPMT_TK_CREATION> creation_ticket;
    Check(Esys_Create(esys, parent.object.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &templ_,
                      &outside_info, &creation_pcrs, priv.ptr(), pub.ptr(), creation_data.ptr(), creation_hash.ptr(),
                      creation_ticket.ptr()),
          "Esys_Create");
    public_ = Marshal(*pub.get(), Tss2_MU_TPM2B_PUBLIC_Marshal, "TPM2B_PUBLIC");
    private_ = Marshal(*priv.get(), Tss2_MU_TPM2B_PRIVATE_Marshal, "TPM2B_PRIVATE");
    parent_name_ = parent.name;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("public", ToBuffer(env, public_));
    result.Set("private", ToBuffer(env, private_));
    result.Set("parentName", ToBuffer(env, parent_name_));
    return result;
  }

 private:
  PrimarySpec parent_;
  TPM2B_PUBLIC templ_;
  Bytes public_, private_, parent_name_;
};

// Loads a blob and reports the name the TPM computed: proof that the blob still loads (after a
// restart, a TPM clear, a moved disk) before a step relies on it.
class LoadKeyJob : public Job {
 public:
  LoadKeyJob(PrimarySpec parent, KeyBlob key) : parent_(std::move(parent)), key_(key) {}
  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    Object key = LoadKeyUnder(esys, parent_, key_);
    name_ = NameOf(esys, key.get());
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("name", ToBuffer(env, name_));
    return result;
  }

 private:
  PrimarySpec parent_;
  KeyBlob key_;
  Bytes name_;
};

// Makes the primary persistent at its handle (TPM2_EvictControl with the owner's empty auth)
// when the TPM does not hold it there yet: key files name their parent by that handle, and
// whatever loads them (the tpm2-openssl provider) expects it there. "occupied" when another key
// holds the handle: nothing is changed.
class PersistPrimaryJob : public Job {
 public:
  explicit PersistPrimaryJob(PrimarySpec spec) : spec_(std::move(spec)) {}
  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    Primary primary = AcquirePrimary(esys, spec_);
    if (primary.persistent) {
      status_ = "already";
      return;
    }
    if (FromTpmHandle(esys, *spec_.persistent)) {
      status_ = "occupied";
      return;
    }
    ESYS_TR persisted = ESYS_TR_NONE;
    Check(Esys_EvictControl(esys, ESYS_TR_RH_OWNER, primary.object.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                            *spec_.persistent, &persisted),
          "Esys_EvictControl");
    Esys_TR_Close(esys, &persisted);
    status_ = "persisted";
  }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, status_); }

 private:
  PrimarySpec spec_;
  std::string status_;
};

}  // namespace

std::unique_ptr<Job> MakePersistPrimaryJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  PrimarySpec spec = GetPrimarySpec(args, "primary");
  if (!spec.persistent || spec.hierarchy != ESYS_TR_RH_OWNER) {
    throw Napi::RangeError::New(info.Env(), "persistPrimary needs an owner-hierarchy primary with a persistentHandle");
  }
  return std::make_unique<PersistPrimaryJob>(std::move(spec));
}

std::unique_ptr<Job> MakePrimaryPublicJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  return std::make_unique<PrimaryPublicJob>(GetPrimarySpec(args, "primary"));
}

std::unique_ptr<Job> MakeCreateKeyJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  return std::make_unique<CreateKeyJob>(
      GetPrimarySpec(args, "parent"),
      GetStruct<TPM2B_PUBLIC>(args, "template", Tss2_MU_TPM2B_PUBLIC_Unmarshal, "TPM2B_PUBLIC"));
}

std::unique_ptr<Job> MakeLoadKeyJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  return std::make_unique<LoadKeyJob>(GetPrimarySpec(args, "parent"), GetKeyBlob(args, "key"));
}

}  // namespace selfdeploy
