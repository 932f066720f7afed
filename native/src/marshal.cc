// Argument parsing and error decoding for the addon's byte boundary.
#include "marshal.h"

#include <sstream>

namespace selfdeploy {

std::string DecodeRc(TSS2_RC rc) {
  const char* text = Tss2_RC_Decode(rc);
  return text != nullptr ? std::string(text) : std::string("unknown return code");
}

void Check(TSS2_RC rc, const char* call) {
  if (rc == TSS2_RC_SUCCESS) return;
  std::ostringstream message;
  message << call << " failed: " << DecodeRc(rc) << " (0x" << std::hex << rc << ")";
  throw TpmFailure("TSS2_RC", call, rc, message.str());
}

void Fail(const std::string& code, const std::string& call, const std::string& message) {
  throw TpmFailure(code, call, 0, message);
}

bool IsMissingHandle(TSS2_RC rc) {
  // Format-one response codes carry the handle/parameter number in bits 8..11 (Part 2 §6.6.3).
  if ((rc & 0xFFFF0000u) != 0) return false;  // not from the TPM layer
  if ((rc & TPM2_RC_FMT1) == 0) return false;
  return ((rc & 0x3Fu) | TPM2_RC_FMT1) == TPM2_RC_HANDLE;
}

bool IsNotInitialized(TSS2_RC rc) { return rc == TPM2_RC_INITIALIZE; }

Napi::Object ArgObject(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsObject()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an object");
  }
  return info[index].As<Napi::Object>();
}

static Bytes BytesOf(const Napi::Value& value, const char* key) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(value.Env(), std::string(key) + " must be a Uint8Array or Buffer");
  }
  auto array = value.As<Napi::Uint8Array>();
  return Bytes(array.Data(), array.Data() + array.ByteLength());
}

Bytes GetBytes(const Napi::Object& obj, const char* key) {
  if (!obj.Has(key)) throw Napi::TypeError::New(obj.Env(), std::string(key) + " is required");
  return BytesOf(obj.Get(key), key);
}

std::optional<Bytes> GetOptionalBytes(const Napi::Object& obj, const char* key) {
  if (!obj.Has(key)) return std::nullopt;
  Napi::Value value = obj.Get(key);
  if (value.IsUndefined() || value.IsNull()) return std::nullopt;
  return BytesOf(value, key);
}

static uint32_t Uint32Of(const Napi::Value& value, const char* key) {
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(value.Env(), std::string(key) + " must be a number");
  }
  double d = value.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::RangeError::New(value.Env(), std::string(key) + " must be a 32-bit unsigned integer");
  }
  return static_cast<uint32_t>(d);
}

uint32_t GetUint32(const Napi::Object& obj, const char* key) {
  if (!obj.Has(key)) throw Napi::TypeError::New(obj.Env(), std::string(key) + " is required");
  return Uint32Of(obj.Get(key), key);
}

std::optional<uint32_t> GetOptionalUint32(const Napi::Object& obj, const char* key) {
  if (!obj.Has(key)) return std::nullopt;
  Napi::Value value = obj.Get(key);
  if (value.IsUndefined() || value.IsNull()) return std::nullopt;
  return Uint32Of(value, key);
}

std::string GetString(const Napi::Object& obj, const char* key) {
  Napi::Value value = obj.Get(key);
  if (!value.IsString()) {
    throw Napi::TypeError::New(obj.Env(), std::string(key) + " must be a string");
  }
  return value.As<Napi::String>().Utf8Value();
}

Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const uint8_t* data, size_t size) {
  // Copy: NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED (Electron's V8 sandbox forbids external memory).
  return Napi::Buffer<uint8_t>::Copy(env, data, size);
}

Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const Bytes& bytes) {
  return ToBuffer(env, bytes.data(), bytes.size());
}

}  // namespace selfdeploy
