// Primaries and key blobs (see objects.h).
#include "objects.h"

#include <algorithm>

#include "marshal.h"

namespace selfdeploy {

PrimarySpec GetPrimarySpec(const Napi::Object& obj, const char* key) {
  Napi::Env env = obj.Env();
  Napi::Value value = obj.Get(key);
  if (!value.IsObject()) throw Napi::TypeError::New(env, std::string(key) + " must be an object");
  Napi::Object spec_obj = value.As<Napi::Object>();

  PrimarySpec spec;
  std::string hierarchy = GetString(spec_obj, "hierarchy");
  if (hierarchy == "owner") {
    spec.hierarchy = ESYS_TR_RH_OWNER;
  } else if (hierarchy == "endorsement") {
    spec.hierarchy = ESYS_TR_RH_ENDORSEMENT;
  } else {
    throw Napi::RangeError::New(env, "hierarchy must be 'owner' or 'endorsement'");
  }
  if (auto handle = GetOptionalUint32(spec_obj, "persistentHandle")) {
    if ((*handle >> 24) != TPM2_HT_PERSISTENT) {
      throw Napi::RangeError::New(env, "persistentHandle must be in the persistent range 0x81xxxxxx");
    }
    spec.persistent = *handle;
  }
  spec.templ = GetStruct<TPM2B_PUBLIC>(spec_obj, "template", Tss2_MU_TPM2B_PUBLIC_Unmarshal, "TPM2B_PUBLIC");
  if (auto name = GetOptionalBytes(spec_obj, "name")) {
    TPM2B_NAME expected{};
    if (name->size() > sizeof(expected.name)) throw Napi::RangeError::New(env, "name is too long");
    expected.size = static_cast<UINT16>(name->size());
    std::copy(name->begin(), name->end(), expected.name);
    spec.expected_name = expected;
  }
  return spec;
}

KeyBlob GetKeyBlob(const Napi::Object& obj, const char* key) {
  Napi::Env env = obj.Env();
  Napi::Value value = obj.Get(key);
  if (!value.IsObject()) throw Napi::TypeError::New(env, std::string(key) + " must be an object");
  Napi::Object blob_obj = value.As<Napi::Object>();
  KeyBlob blob;
  blob.pub = GetStruct<TPM2B_PUBLIC>(blob_obj, "public", Tss2_MU_TPM2B_PUBLIC_Unmarshal, "TPM2B_PUBLIC");
  blob.priv = GetStruct<TPM2B_PRIVATE>(blob_obj, "private", Tss2_MU_TPM2B_PRIVATE_Unmarshal, "TPM2B_PRIVATE");
  return blob;
}

Bytes NameOf(ESYS_CONTEXT* esys, ESYS_TR tr) {
  Out<TPM2B_NAME> name;
  Check(Esys_TR_GetName(esys, tr, name.ptr()), "Esys_TR_GetName");
  return Bytes(name->name, name->name + name->size);
}

std::optional<Object> FromTpmHandle(ESYS_CONTEXT* esys, TPM2_HANDLE handle) {
  ESYS_TR tr = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
  if (IsMissingHandle(rc)) return std::nullopt;
  Check(rc, "Esys_TR_FromTPMPublic");
  return Object(esys, tr, Object::Kind::kPersistent);
}

static bool SameName(const Bytes& name, const TPM2B_NAME& expected) {
  return name.size() == expected.size && std::equal(name.begin(), name.end(), expected.name);
}

// A persistent object can stand in for the template only when it is the same kind of key:
// same type, curve or key size, and the same restricted/decrypt/sign role.
static bool Suits(const TPMT_PUBLIC& actual, const TPMT_PUBLIC& wanted) {
  constexpr TPMA_OBJECT role = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT;
  if (actual.type != wanted.type || (actual.objectAttributes & role) != (wanted.objectAttributes & role)) return false;
  if (actual.type == TPM2_ALG_ECC) return actual.parameters.eccDetail.curveID == wanted.parameters.eccDetail.curveID;
  if (actual.type == TPM2_ALG_RSA) return actual.parameters.rsaDetail.keyBits == wanted.parameters.rsaDetail.keyBits;
  return true;
}

Primary AcquirePrimary(ESYS_CONTEXT* esys, const PrimarySpec& spec) {
  if (std::optional<Object> object = spec.persistent ? FromTpmHandle(esys, *spec.persistent) : std::nullopt) {
    Out<TPM2B_PUBLIC> pub;
    Out<TPM2B_NAME> name;
    Out<TPM2B_NAME> qualified;
    Check(Esys_ReadPublic(esys, object->get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub.ptr(), name.ptr(),
                          qualified.ptr()),
          "Esys_ReadPublic");
    Bytes name_bytes(name->name, name->name + name->size);
    if (Suits(pub->publicArea, spec.templ.publicArea) &&
        (!spec.expected_name || SameName(name_bytes, *spec.expected_name))) {
      return Primary{std::move(*object), Marshal(*pub.get(), Tss2_MU_TPM2B_PUBLIC_Marshal, "TPM2B_PUBLIC"),
                     std::move(name_bytes), true};
    }
    // Not the key we want there (another role, or not the parent of this blob): fall back to
    // the template, which reproduces the standard primary from the hierarchy seed.
  }

  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside_info{};
  TPML_PCR_SELECTION creation_pcrs{};
  ESYS_TR tr = ESYS_TR_NONE;
  Out<TPM2B_PUBLIC> pub;
  Out<TPM2B_CREATION_DATA> creation_data;
  Out<TPM2B_DIGEST> creation_hash;
  Out<TPMT_TK_CREATION> creation_ticket;
  Check(Esys_CreatePrimary(esys, spec.hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                           &spec.templ, &outside_info, &creation_pcrs, &tr, pub.ptr(), creation_data.ptr(),
                           creation_hash.ptr(), creation_ticket.ptr()),
        "Esys_CreatePrimary");
  Object object(esys, tr, Object::Kind::kTransient);
  Bytes name = NameOf(esys, tr);
  if (spec.expected_name && !SameName(name, *spec.expected_name)) {
    Fail("TPM_PARENT_MISMATCH", "Esys_CreatePrimary",
         "the key blob was created under another parent key than the one this TPM has now "
         "(the storage hierarchy was cleared or its persistent SRK replaced)");
  }
  return Primary{std::move(object), Marshal(*pub.get(), Tss2_MU_TPM2B_PUBLIC_Marshal, "TPM2B_PUBLIC"),
                 std::move(name), false};
}

Object LoadKey(ESYS_CONTEXT* esys, const Object& parent, const KeyBlob& blob) {
  ESYS_TR tr = ESYS_TR_NONE;
  Check(Esys_Load(esys, parent.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &blob.priv, &blob.pub, &tr),
        "Esys_Load");
  return Object(esys, tr, Object::Kind::kTransient);
}

std::vector<Object> LoadKeysUnder(ESYS_CONTEXT* esys, const PrimarySpec& parent_spec,
                                  std::initializer_list<const KeyBlob*> blobs) {
  Primary parent = AcquirePrimary(esys, parent_spec);
  std::vector<Object> keys;
  keys.reserve(blobs.size());
  for (const KeyBlob* blob : blobs) keys.push_back(LoadKey(esys, parent.object, *blob));
  return keys;
}

Object LoadKeyUnder(ESYS_CONTEXT* esys, const PrimarySpec& parent, const KeyBlob& blob) {
  return std::move(LoadKeysUnder(esys, parent, {&blob}).front());
}

}  // namespace selfdeploy
