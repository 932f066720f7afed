# Builds the tpm2-tss binding. N-API 8 only, so one build serves Node and Electron.
# Libraries come from pkg-config (Debian: libtss2-dev); node-gyp is run by scripts/bootstrap.mjs.
{
  "targets": [
    {
      "target_name": "selfdeploy_tpm",
      "sources": [
        "src/addon.cc",
        "src/context.cc",
        "src/marshal.cc",
        "src/objects.cc",
        "src/capability.cc",
        "src/nv.cc",
        "src/keys.cc",
        "src/attestation.cc",
        "src/signing.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(pkg-config --cflags-only-I tss2-esys tss2-tctildr tss2-mu tss2-rc | sed 's/-I//g')"
      ],
      "libraries": [
        "<!@(pkg-config --libs tss2-esys tss2-tctildr tss2-mu tss2-rc)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED"
      ],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-fexceptions"]
    }
  ]
}
