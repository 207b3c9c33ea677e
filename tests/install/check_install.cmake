# Installs the build into a fresh prefix and checks what a user of the
# install gets: the installed `reskit` runs as it is (its RPATH finds
# libreskit), and a downstream CMake project builds with find_package(reskit),
# runs a model and finds reskit's data beside the installed library.
# Run by CTest: cmake -DBUILD_DIR=.. -DSOURCE_DIR=.. -DWORK_DIR=.. -DTORCH_DIR=.. -P check_install.cmake
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "failed (${status}): ${command}\n${out}\n${err}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

run(${prefix}/bin/reskit --version)
if(NOT output MATCHES "^reskit [0-9]")
  message(FATAL_ERROR "installed reskit --version printed:\n${output}")
endif()
run(${prefix}/bin/reskit models)
if(NOT output MATCHES "resnet50")
  message(FATAL_ERROR "installed reskit models does not list resnet50")
endif()

# A sanitized library needs its sanitizer's runtime in the program too.
set(flags)
if(SANITIZE)
  set(flags -DCMAKE_CXX_FLAGS=-fsanitize=${SANITIZE} -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE})
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/downstream -B ${WORK_DIR}/downstream -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_PREFIX_PATH=${prefix} -DTorch_DIR=${TORCH_DIR} ${flags})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/downstream)
run(${WORK_DIR}/downstream/downstream)
get_filename_component(expected_data ${prefix}/share/reskit ABSOLUTE)
if(NOT output MATCHES "output 1x10\n" OR NOT output MATCHES "labels 1000\n" OR
   NOT output MATCHES "data ${expected_data}\n")
  message(FATAL_ERROR "the downstream program printed:\n${output}\nexpected output 1x10, labels 1000, data ${expected_data}")
endif()
message(STATUS "installed into ${prefix}; the installed reskit and a downstream project both run")
