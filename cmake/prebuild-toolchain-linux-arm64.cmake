# `npm run prebuild` for linux-arm64 (glibc >= 2.28), cross-compiled on x64. See
# prebuild-toolchain-common.cmake.
set(RWS_PREBUILD_TARGET aarch64-linux-gnu.2.28)
set(RWS_PREBUILD_PROCESSOR aarch64)
# OpenSSL's two generated headers (configuration.h, opensslconf.h) are the only per-architecture
# ones. Debian's x86_64 copies are valid for aarch64 as well: both are LP64 little-endian
# (SIXTY_FOUR_BIT_LONG) and the remaining lines only list disabled features. libssl-dev:arm64
# is preferred when installed (multiarch).
if(EXISTS /usr/include/aarch64-linux-gnu/openssl/configuration.h)
  set(RWS_OPENSSL_ARCH_INCLUDE /usr/include/aarch64-linux-gnu)
else()
  set(RWS_OPENSSL_ARCH_INCLUDE /usr/include/x86_64-linux-gnu)
endif()
include(${CMAKE_CURRENT_LIST_DIR}/prebuild-toolchain-common.cmake)
