// The byte boundary between JavaScript and the TSS: TPM structures cross it marshalled
// (TPM 2.0 Part 2 wire format, via libtss2-mu), and are parsed in TypeScript where needed.
#pragma once

#include <napi.h>
#include <tss2/tss2_mu.h>

#include <optional>
#include <string>

#include "tss.h"

namespace selfdeploy {

// ---- structures <-> bytes (worker thread or main thread) ----

template <class T>
using MarshalFn = TSS2_RC (*)(const T*, uint8_t[], size_t, size_t*);
template <class T>
using UnmarshalFn = TSS2_RC (*)(const uint8_t[], size_t, size_t*, T*);

template <class T>
Bytes Marshal(const T& value, MarshalFn<T> fn, const char* what) {
  Bytes out(sizeof(T) + 64);
  size_t offset = 0;
  TSS2_RC rc = fn(&value, out.data(), out.size(), &offset);
  if (rc != TSS2_RC_SUCCESS) {
    throw TpmFailure("TSS2_RC", std::string("marshal ") + what, rc,
                     std::string("could not marshal ") + what + ": " + DecodeRc(rc));
  }
  out.resize(offset);
  return out;
}

// Unmarshals exactly `bytes`: a structure with trailing bytes is rejected.
template <class T>
bool Unmarshal(const Bytes& bytes, UnmarshalFn<T> fn, T* out) {
  size_t offset = 0;
  *out = {};
  TSS2_RC rc = fn(bytes.data(), bytes.size(), &offset, out);
  return rc == TSS2_RC_SUCCESS && offset == bytes.size();
}

// ---- JavaScript arguments (main thread only) ----

Napi::Object ArgObject(const Napi::CallbackInfo& info, size_t index, const char* name);
Bytes GetBytes(const Napi::Object& obj, const char* key);
std::optional<Bytes> GetOptionalBytes(const Napi::Object& obj, const char* key);
uint32_t GetUint32(const Napi::Object& obj, const char* key);
std::optional<uint32_t> GetOptionalUint32(const Napi::Object& obj, const char* key);
std::string GetString(const Napi::Object& obj, const char* key);

// Reads `key` as a marshalled structure; a TypeError names the field when it does not parse.
template <class T>
T GetStruct(const Napi::Object& obj, const char* key, UnmarshalFn<T> fn, const char* what) {
  T value;
  if (!Unmarshal(GetBytes(obj, key), fn, &value)) {
    throw Napi::TypeError::New(obj.Env(), std::string(key) + " is not a valid " + what);
  }
  return value;
}

// Wraps a buffer into a TPM2B of the given capacity; a TypeError when it does not fit.
template <class T>
T GetSized(const Napi::Object& obj, const char* key, bool optional = false) {
  T value{};
  std::optional<Bytes> bytes = optional ? GetOptionalBytes(obj, key) : GetBytes(obj, key);
  if (!bytes) return value;
  constexpr size_t capacity = sizeof(value.buffer);
  if (bytes->size() > capacity) {
    throw Napi::RangeError::New(obj.Env(), std::string(key) + " is longer than " +
                                               std::to_string(capacity) + " bytes");
  }
  value.size = static_cast<UINT16>(bytes->size());
  std::copy(bytes->begin(), bytes->end(), value.buffer);
  return value;
}

Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const Bytes& bytes);
Napi::Buffer<uint8_t> ToBuffer(Napi::Env env, const uint8_t* data, size_t size);

}  // namespace selfdeploy
