// Primary keys (EK, SRK) and key blobs. A primary is taken from its persistent handle when the
// TPM has one there, else re-created from its template (deterministic for a given hierarchy
// seed). Keys are TPM2B_PUBLIC + TPM2B_PRIVATE blobs loaded under the SRK for each use, so they
// survive restarts of the TPM and of the agent without persistent handles.
#pragma once

#include <napi.h>

#include <initializer_list>
#include <optional>
#include <vector>

#include "job.h"
#include "tss.h"

namespace selfdeploy {

struct PrimarySpec {
  ESYS_TR hierarchy = ESYS_TR_RH_OWNER;
  std::optional<TPM2_HANDLE> persistent;  // e.g. 0x81000001 (SRK), 0x81010001 (RSA EK)
  TPM2B_PUBLIC templ{};
  std::optional<TPM2B_NAME> expected_name;  // the parent a key blob was created under
};

struct KeyBlob {
  TPM2B_PUBLIC pub{};
  TPM2B_PRIVATE priv{};
};

// Main thread: {hierarchy: 'owner'|'endorsement', persistentHandle?, template, name?}.
PrimarySpec GetPrimarySpec(const Napi::Object& obj, const char* key);
// Main thread: {public, private}.
KeyBlob GetKeyBlob(const Napi::Object& obj, const char* key);

struct Primary {
  Object object;
  Bytes public_area;  // marshalled TPM2B_PUBLIC
  Bytes name;         // TPM2B_NAME contents
  bool persistent = false;
};

// Worker thread.
Primary AcquirePrimary(ESYS_CONTEXT* esys, const PrimarySpec& spec);
Object LoadKey(ESYS_CONTEXT* esys, const Object& parent, const KeyBlob& blob);
// Loads blobs under their parent and flushes the parent at once: the loaded keys stay usable,
// and the slot is free (swtpm holds only three transient objects).
std::vector<Object> LoadKeysUnder(ESYS_CONTEXT* esys, const PrimarySpec& parent, std::initializer_list<const KeyBlob*> blobs);
Object LoadKeyUnder(ESYS_CONTEXT* esys, const PrimarySpec& parent, const KeyBlob& blob);
Bytes NameOf(ESYS_CONTEXT* esys, ESYS_TR tr);
// An ESYS resource for a persistent object or NV index, or nothing when the TPM has none there.
std::optional<Object> FromTpmHandle(ESYS_CONTEXT* esys, TPM2_HANDLE handle);

}  // namespace selfdeploy
