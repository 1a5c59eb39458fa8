# Prebuild only (see ../node-provided-libs.cmake): zlib headers, no library. The symbols
# (deflateInit2_, inflate, ...) come from the `node` executable at load time.
set(ZLIB_INCLUDE_DIR ${RWS_NODE_PROVIDED_INCLUDE})
if(NOT TARGET ZLIB::ZLIB)
  add_library(ZLIB::ZLIB INTERFACE IMPORTED)
  set_target_properties(ZLIB::ZLIB PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${RWS_NODE_PROVIDED_INCLUDE})
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ZLIB REQUIRED_VARS ZLIB_INCLUDE_DIR)
