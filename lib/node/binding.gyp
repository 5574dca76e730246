# node-gyp's build of the addon (npm install from a package tarball, with
# libwarmth-dev installed); the source tree builds with build.sh instead.
{
  "targets": [{
    "target_name": "warmth",
    "sources": ["src/warmth.cc"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
    "libraries": ["-lwarmth"],
    "cflags_cc": ["-std=c++17"]
  }]
}
