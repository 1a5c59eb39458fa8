# Shared part of the prebuild toolchains (cmake/prebuild-toolchain-linux-<arch>.cmake set
# RWS_PREBUILD_TARGET first). Used only by `npm run prebuild` (scripts/prebuild.js); a normal
# source build (`npm install` in the checkout, cmake-js) never reads this file.
#
# What it makes: a Node-API addon that runs on every glibc >= 2.28 system (Node's own baseline)
# and needs nothing from the host but libc, libm, libpthread and the `node` process itself:
#   - zig's clang with zig's libc++ linked statically (no libstdc++ DT_NEEDED), against the
#     glibc 2.28 symbol set (zig ships per-version stubs; -target <arch>-linux-gnu.2.28);
#   - OpenSSL and zlib: headers only. Their symbols are resolved at load time from the `node`
#     executable, which exports both (as node-gyp addons do), see cmake/node-provided-libs.cmake;
#   - every symbol hidden (the addon target's version script, cmake/addon-exports.map, which
#     CMakeLists.txt applies to the source build as well, leaves only the Node-API registration).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${RWS_PREBUILD_PROCESSOR})
set(CMAKE_CXX_COMPILER ${CMAKE_CURRENT_LIST_DIR}/zig/${RWS_PREBUILD_TARGET}-c++)
set(CMAKE_CXX_FLAGS_INIT "-DBUILDING_NODE_EXTENSION -fvisibility=hidden -fvisibility-inlines-hidden -ffunction-sections -fdata-sections")
set(CMAKE_SHARED_LINKER_FLAGS_INIT
  "-Wl,--gc-sections -s")

# Runs after every project() call, before CMakeLists.txt looks for Boost, OpenSSL and zlib.
set(CMAKE_PROJECT_INCLUDE ${CMAKE_CURRENT_LIST_DIR}/node-provided-libs.cmake)
