// NV indices (EK and platform certificates, TCG EK Credential Profile §2.2.1.5) and the public
// areas of persistent objects.
#include <algorithm>

#include "job.h"
#include "marshal.h"
#include "objects.h"

namespace selfdeploy {

namespace {

// TPM2_PT_NV_BUFFER_MAX: the largest NV_Read this TPM accepts in one command.
UINT16 MaxNvBuffer(ESYS_CONTEXT* esys) {
  TPMI_YES_NO more = TPM2_NO;
  Out<TPMS_CAPABILITY_DATA> data;
  TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                  TPM2_PT_NV_BUFFER_MAX, 1, &more, data.ptr());
  if (rc == TSS2_RC_SUCCESS && data->data.tpmProperties.count == 1 &&
      data->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX) {
    UINT32 value = data->data.tpmProperties.tpmProperty[0].value;
    return static_cast<UINT16>(std::clamp<UINT32>(value, 64, TPM2_MAX_NV_BUFFER_SIZE));
  }
  return 512;  // the PC Client minimum
}

class NvReadJob : public Job {
 public:
  explicit NvReadJob(TPM2_HANDLE index) : index_(index) {}
  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    std::optional<Object> index = FromTpmHandle(esys, index_);
    if (!index) return;  // not defined: a normal answer (e.g. no P-256 EK certificate)
    ESYS_TR tr = index->get();

    Out<TPM2B_NV_PUBLIC> pub;
    Out<TPM2B_NAME> name;
    Check(Esys_NV_ReadPublic(esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub.ptr(), name.ptr()),
          "Esys_NV_ReadPublic");
    TPMA_NV attributes = pub->nvPublic.attributes;
    if ((attributes & TPMA_NV_WRITTEN) == 0) return;  // defined but never written: no content
    ESYS_TR auth;
    if (attributes & TPMA_NV_AUTHREAD) {
      auth = tr;
    } else if (attributes & TPMA_NV_OWNERREAD) {
      auth = ESYS_TR_RH_OWNER;
    } else {
      Fail("TPM_NV_NOT_READABLE", "Esys_NV_Read",
           "NV index is readable only with platform or policy authorization");
    }

    UINT16 size = pub->nvPublic.dataSize;
    UINT16 chunk = MaxNvBuffer(esys);
    Bytes content;
    content.reserve(size);
    while (content.size() < size) {
      UINT16 offset = static_cast<UINT16>(content.size());
      UINT16 want = static_cast<UINT16>(std::min<size_t>(chunk, size - content.size()));
      Out<TPM2B_MAX_NV_BUFFER> data;
      Check(Esys_NV_Read(esys, auth, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, want, offset, data.ptr()),
            "Esys_NV_Read");
      if (data->size == 0) Fail("TPM_BAD_RESPONSE", "Esys_NV_Read", "the TPM returned an empty NV chunk");
      content.insert(content.end(), data->buffer, data->buffer + data->size);
    }
    data_ = std::move(content);
  }
  Napi::Value Result(Napi::Env env) override {
    if (!data_) return env.Null();
    return ToBuffer(env, *data_);
  }

 private:
  TPM2_HANDLE index_;
  std::optional<Bytes> data_;
};

class ReadPublicJob : public Job {
 public:
  explicit ReadPublicJob(TPM2_HANDLE handle) : handle_(handle) {}
  void Run(Session& s) override {
    ESYS_CONTEXT* esys = s.Esys();
    std::optional<Object> object = FromTpmHandle(esys, handle_);
    if (!object) return;
    ESYS_TR tr = object->get();
    Out<TPM2B_PUBLIC> pub;
    Out<TPM2B_NAME> name;
    Out<TPM2B_NAME> qualified;
    Check(Esys_ReadPublic(esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub.ptr(), name.ptr(), qualified.ptr()),
          "Esys_ReadPublic");
    public_ = Marshal(*pub.get(), Tss2_MU_TPM2B_PUBLIC_Marshal, "TPM2B_PUBLIC");
    name_ = Bytes(name->name, name->name + name->size);
    found_ = true;
  }
  Napi::Value Result(Napi::Env env) override {
    if (!found_) return env.Null();
    Napi::Object result = Napi::Object::New(env);
    result.Set("public", ToBuffer(env, public_));
    result.Set("name", ToBuffer(env, name_));
    return result;
  }

 private:
  TPM2_HANDLE handle_;
  bool found_ = false;
  Bytes public_, name_;
};

}  // namespace

std::unique_ptr<Job> MakeNvReadJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  uint32_t index = GetUint32(args, "index");
  if ((index >> 24) != TPM2_HT_NV_INDEX) {
    throw Napi::RangeError::New(info.Env(), "index must be an NV index (0x01xxxxxx)");
  }
  return std::make_unique<NvReadJob>(index);
}

std::unique_ptr<Job> MakeReadPublicJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  uint32_t handle = GetUint32(args, "handle");
  if ((handle >> 24) != TPM2_HT_PERSISTENT) {
    throw Napi::RangeError::New(info.Env(), "handle must be a persistent handle (0x81xxxxxx)");
  }
  return std::make_unique<ReadPublicJob>(handle);
}

}  // namespace selfdeploy
