# `npm run prebuild` for linux-x64 (glibc >= 2.28). See prebuild-toolchain-common.cmake.
set(RWS_PREBUILD_TARGET x86_64-linux-gnu.2.28)
set(RWS_PREBUILD_PROCESSOR x86_64)
set(RWS_OPENSSL_ARCH_INCLUDE /usr/include/x86_64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/prebuild-toolchain-common.cmake)
