// TPM2_GetCapability, TPM2_GetRandom and TPM2_PCR_Read.
#include "capability.h"

#include "job.h"
#include "marshal.h"

namespace selfdeploy {

std::vector<PcrChunk> ReadPcrs(ESYS_CONTEXT* esys, const TPML_PCR_SELECTION& selection) {
  std::vector<PcrChunk> chunks;
  TPML_PCR_SELECTION remaining = selection;
  auto any_left = [&remaining] {
    for (UINT32 i = 0; i < remaining.count; ++i) {
      for (UINT8 j = 0; j < remaining.pcrSelections[i].sizeofSelect; ++j) {
        if (remaining.pcrSelections[i].pcrSelect[j] != 0) return true;
      }
    }
    return false;
  };
  while (any_left()) {
    UINT32 counter = 0;
    Out<TPML_PCR_SELECTION> read;
    Out<TPML_DIGEST> values;
    Check(Esys_PCR_Read(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &remaining, &counter, read.ptr(),
                        values.ptr()),
          "Esys_PCR_Read");
    if (values->count == 0) break;  // nothing more this TPM can answer (e.g. an inactive bank)
    chunks.push_back(PcrChunk{counter, Marshal(*read.get(), Tss2_MU_TPML_PCR_SELECTION_Marshal, "TPML_PCR_SELECTION"),
                              Marshal(*values.get(), Tss2_MU_TPML_DIGEST_Marshal, "TPML_DIGEST")});
    // Clear what was answered.
    for (UINT32 i = 0; i < read->count; ++i) {
      for (UINT32 k = 0; k < remaining.count; ++k) {
        if (remaining.pcrSelections[k].hash != read->pcrSelections[i].hash) continue;
        for (UINT8 j = 0; j < read->pcrSelections[i].sizeofSelect && j < remaining.pcrSelections[k].sizeofSelect; ++j) {
          remaining.pcrSelections[k].pcrSelect[j] &= static_cast<BYTE>(~read->pcrSelections[i].pcrSelect[j]);
        }
      }
    }
  }
  return chunks;
}

Napi::Array PcrChunksToJs(Napi::Env env, const std::vector<PcrChunk>& chunks) {
  Napi::Array array = Napi::Array::New(env, chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    Napi::Object chunk = Napi::Object::New(env);
    chunk.Set("updateCounter", Napi::Number::New(env, chunks[i].update_counter));
    chunk.Set("selection", ToBuffer(env, chunks[i].selection));
    chunk.Set("digests", ToBuffer(env, chunks[i].digests));
    array.Set(static_cast<uint32_t>(i), chunk);
  }
  return array;
}

namespace {

class GetCapabilityJob : public Job {
 public:
  GetCapabilityJob(uint32_t capability, uint32_t property, uint32_t count)
      : capability_(capability), property_(property), count_(count) {}
  void Run(Session& s) override {
    TPMI_YES_NO more = TPM2_NO;
    Out<TPMS_CAPABILITY_DATA> data;
    Check(Esys_GetCapability(s.Esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, capability_, property_, count_,
                             &more, data.ptr()),
          "Esys_GetCapability");
    more_ = more == TPM2_YES;
    data_ = Marshal(*data.get(), Tss2_MU_TPMS_CAPABILITY_DATA_Marshal, "TPMS_CAPABILITY_DATA");
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("moreData", Napi::Boolean::New(env, more_));
    result.Set("data", ToBuffer(env, data_));
    return result;
  }

 private:
  uint32_t capability_, property_, count_;
  bool more_ = false;
  Bytes data_;
};

class GetRandomJob : public Job {
 public:
  explicit GetRandomJob(uint16_t size) : size_(size) {}
  void Run(Session& s) override {
    // The TPM returns at most one digest's worth per call (TPM 2.0 Part 3 §16.1).
    while (bytes_.size() < size_) {
      Out<TPM2B_DIGEST> random;
      Check(Esys_GetRandom(s.Esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                           static_cast<UINT16>(size_ - bytes_.size()), random.ptr()),
            "Esys_GetRandom");
      if (random->size == 0) Fail("TPM_BAD_RESPONSE", "Esys_GetRandom", "the TPM returned no random bytes");
      bytes_.insert(bytes_.end(), random->buffer, random->buffer + random->size);
    }
    bytes_.resize(size_);
  }
  Napi::Value Result(Napi::Env env) override { return ToBuffer(env, bytes_); }

 private:
  uint16_t size_;
  Bytes bytes_;
};

class PcrReadJob : public Job {
 public:
  explicit PcrReadJob(const TPML_PCR_SELECTION& selection) : selection_(selection) {}
  void Run(Session& s) override { chunks_ = ReadPcrs(s.Esys(), selection_); }
  Napi::Value Result(Napi::Env env) override { return PcrChunksToJs(env, chunks_); }

 private:
  TPML_PCR_SELECTION selection_;
  std::vector<PcrChunk> chunks_;
};

}  // namespace

std::unique_ptr<Job> MakeGetCapabilityJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  return std::make_unique<GetCapabilityJob>(GetUint32(args, "capability"), GetUint32(args, "property"),
                                            GetUint32(args, "count"));
}

std::unique_ptr<Job> MakeGetRandomJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  uint32_t size = GetUint32(args, "size");
  if (size == 0 || size > 1024) throw Napi::RangeError::New(info.Env(), "size must be between 1 and 1024");
  return std::make_unique<GetRandomJob>(static_cast<uint16_t>(size));
}

std::unique_ptr<Job> MakePcrReadJob(const Napi::CallbackInfo& info) {
  Napi::Object args = ArgObject(info, 0, "arguments");
  return std::make_unique<PcrReadJob>(
      GetStruct<TPML_PCR_SELECTION>(args, "selection", Tss2_MU_TPML_PCR_SELECTION_Unmarshal, "TPML_PCR_SELECTION"));
}

}  // namespace selfdeploy
