# Prebuild only (see ../node-provided-libs.cmake): OpenSSL headers, no libraries. The symbols
# come from the `node` executable at load time.
file(STRINGS ${RWS_NODE_PROVIDED_INCLUDE}/openssl/opensslv.h _v REGEX "^# *define +OPENSSL_VERSION_(MAJOR|MINOR|PATCH) ")
string(REGEX REPLACE ".*MAJOR +([0-9]+).*MINOR +([0-9]+).*PATCH +([0-9]+).*" "\\1.\\2.\\3" OPENSSL_VERSION "${_v}")
set(OPENSSL_INCLUDE_DIR ${RWS_NODE_PROVIDED_INCLUDE})
foreach(_t SSL Crypto)
  if(NOT TARGET OpenSSL::${_t})
    add_library(OpenSSL::${_t} INTERFACE IMPORTED)
    set_target_properties(OpenSSL::${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${RWS_NODE_PROVIDED_INCLUDE})
  endif()
endforeach()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenSSL REQUIRED_VARS OPENSSL_INCLUDE_DIR VERSION_VAR OPENSSL_VERSION)
