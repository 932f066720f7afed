// PCR reads, shared by pcrRead and quote (which reads the quoted PCRs in the same job).
#pragma once

#include <napi.h>

#include <vector>

#include "tss.h"

namespace selfdeploy {

struct PcrChunk {
  uint32_t update_counter = 0;
  Bytes selection;  // marshalled TPML_PCR_SELECTION that this chunk answers
  Bytes digests;    // marshalled TPML_DIGEST, in selection order
};

// TPM2_PCR_Read answers at most eight digests per call: repeat until the selection is covered.
std::vector<PcrChunk> ReadPcrs(ESYS_CONTEXT* esys, const TPML_PCR_SELECTION& selection);
Napi::Array PcrChunksToJs(Napi::Env env, const std::vector<PcrChunk>& chunks);

}  // namespace selfdeploy
