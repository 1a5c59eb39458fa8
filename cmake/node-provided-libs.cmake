# Included after project() by the prebuild toolchains (CMAKE_PROJECT_INCLUDE), never by a normal
# source build. It makes CMakeLists.txt's `find_package(Boost|OpenSSL|ZLIB)` resolve to headers
# only, without touching CMakeLists.txt:
#   - Boost (Asio, Beast): header-only as used here; compiled into the addon.
#   - OpenSSL and zlib: the `node` executable exports both (every official build; that is what
#     node-gyp addons link against), so the addon gets no DT_NEEDED on libssl/libcrypto/libz and
#     its calls bind to the one OpenSSL of the process, the same Node's own `tls` uses. Every
#     supported Node major (18-24) ships OpenSSL 3.x, whose ABI is stable, so building against
#     OpenSSL 3.0 headers is valid for all of them (test/packaging checks a wss round trip on
#     each).
# The headers are staged file by file into one directory, because adding /usr/include itself
# would put the build host's glibc and libstdc++ headers in front of zig's.
include_guard(GLOBAL)

set(RWS_HEADERS_ROOT /usr/include CACHE PATH "Where the Boost, OpenSSL and zlib headers are")
set(_rws_stage ${CMAKE_BINARY_DIR}/node-provided-include)
file(MAKE_DIRECTORY ${_rws_stage}/openssl)
file(CREATE_LINK ${RWS_HEADERS_ROOT}/boost ${_rws_stage}/boost SYMBOLIC)
file(CREATE_LINK ${RWS_HEADERS_ROOT}/zlib.h ${_rws_stage}/zlib.h SYMBOLIC)
file(CREATE_LINK ${RWS_HEADERS_ROOT}/zconf.h ${_rws_stage}/zconf.h SYMBOLIC)
file(GLOB _rws_openssl_headers ${RWS_HEADERS_ROOT}/openssl/*.h ${RWS_OPENSSL_ARCH_INCLUDE}/openssl/*.h)
foreach(_h IN LISTS _rws_openssl_headers)
  get_filename_component(_n ${_h} NAME)
  file(CREATE_LINK ${_h} ${_rws_stage}/openssl/${_n} SYMBOLIC)
endforeach()
foreach(_f boost/version.hpp openssl/configuration.h openssl/opensslv.h zlib.h)
  if(NOT EXISTS ${_rws_stage}/${_f})
    message(FATAL_ERROR "prebuild: ${_f} not found under ${RWS_HEADERS_ROOT} "
      "(apt-get install libboost1.81-dev libssl-dev zlib1g-dev)")
  endif()
endforeach()
set(RWS_NODE_PROVIDED_INCLUDE ${_rws_stage})

# Find modules / package config that define header-only imported targets on that directory.
list(PREPEND CMAKE_MODULE_PATH ${CMAKE_CURRENT_LIST_DIR}/node-provided)
set(Boost_DIR ${CMAKE_CURRENT_LIST_DIR}/node-provided/boost CACHE PATH "" FORCE)
