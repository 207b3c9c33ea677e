# The library's layers, each an object library of its own folder, combined
# into the one shared libreskit. A layer compiles against a view of src/
# that holds only itself and the layers it may use, so an include against
# the arrows (ARCHITECTURE.md) fails to compile:
#   reskit_add_layer(models USES layers core)
# builds src/reskit/models/*.cpp where "reskit/models/...", "reskit/layers/..."
# and "reskit/core/..." exist and "reskit/tasks/..." does not.
function(reskit_add_layer layer)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "USES")
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/reskit/${layer}/*.cpp)
  if(NOT RESKIT_WITH_OPENCV)
    list(FILTER sources EXCLUDE REGEX ".*/opencv/.*")
  endif()
  if(NOT RESKIT_HAVE_ONEDNN)
    list(FILTER sources EXCLUDE REGEX ".*/onednn/.*")
  endif()
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    list(FILTER sources EXCLUDE REGEX ".*/x86/.*")
  endif()
  add_library(reskit_${layer} OBJECT ${sources})

  set(view ${PROJECT_BINARY_DIR}/layer_views/${layer})
  file(REMOVE_RECURSE ${view})
  file(MAKE_DIRECTORY ${view}/reskit)
  foreach(visible IN LISTS layer ARG_USES)
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/reskit/${visible} ${view}/reskit/${visible} SYMBOLIC)
  endforeach()
  target_include_directories(reskit_${layer} PRIVATE ${view})

  set_target_properties(reskit_${layer} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(reskit_${layer} PRIVATE -Wall -Wextra -Wno-unused-parameter -Winvalid-pch)
  target_link_libraries(reskit_${layer} PUBLIC ${TORCH_LIBRARIES} PRIVATE nlohmann_json::nlohmann_json)
  foreach(used IN LISTS ARG_USES)
    target_link_libraries(reskit_${layer} PRIVATE reskit_${used})
  endforeach()
  if(layer STREQUAL "core")
    reskit_torch_pch(reskit_core)  # the others reuse it: one precompiled header for the library
  else()
    target_precompile_headers(reskit_${layer} REUSE_FROM reskit_core)
  endif()
  set_property(GLOBAL APPEND PROPERTY RESKIT_LAYERS reskit_${layer})
endfunction()
