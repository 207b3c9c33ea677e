# find_package(Torch), made safe for a LibTorch beside Debian's.
#
# TorchConfig.cmake looks its own libraries up with find_library, which
# searches the system's directories before that LibTorch's lib/. With Debian's
# libtorch-dev installed, a PyTorch wheel's LibTorch given as
# CMAKE_PREFIX_PATH=torch.utils.cmake_prefix_path would link Debian's
# libtorch.so under the wheel's headers. Its lib/ is therefore searched first,
# and a mix that still happens is an error rather than a broken binary.
macro(reskit_find_torch)
  set(_reskit_saved_library_path "${CMAKE_LIBRARY_PATH}")
  set(_reskit_torch_configs)
  if(Torch_DIR)
    list(APPEND _reskit_torch_configs "${Torch_DIR}/TorchConfig.cmake")
  endif()
  foreach(_prefix IN LISTS CMAKE_PREFIX_PATH)
    list(APPEND _reskit_torch_configs "${_prefix}/Torch/TorchConfig.cmake" "${_prefix}/share/cmake/Torch/TorchConfig.cmake")
  endforeach()
  foreach(_config IN LISTS _reskit_torch_configs)
    if(EXISTS "${_config}")
      # TorchConfig.cmake's own rule: it lives in <prefix>/share/cmake/Torch/.
      get_filename_component(_root "${_config}/../../../.." ABSOLUTE)
      list(PREPEND CMAKE_LIBRARY_PATH "${_root}/lib")
      break()
    endif()
  endforeach()

  find_package(Torch REQUIRED)
  set(CMAKE_LIBRARY_PATH "${_reskit_saved_library_path}")

  # <prefix>/lib, or a subfolder of it such as Debian's lib/x86_64-linux-gnu
  get_filename_component(_found_dir "${TORCH_LIBRARY}" DIRECTORY)
  get_filename_component(_expected_dir "${TORCH_INSTALL_PREFIX}/lib" ABSOLUTE)
  string(FIND "${_found_dir}/" "${_expected_dir}/" _at)
  if(NOT _at EQUAL 0)
    message(FATAL_ERROR "LibTorch headers from ${TORCH_INSTALL_PREFIX} but libtorch from ${_found_dir}: "
                        "pass -DTorch_DIR=<that LibTorch>/share/cmake/Torch in a fresh build directory")
  endif()
  # A wheel's libtorch_cuda finds its CUDA libraries (NCCL, cuDNN, ...) in the
  # nvidia/*/lib folders beside it at run time; the linker must take the same
  # ones, not an older copy in a CUDA toolkit that is also on the link line.
  file(GLOB _wheel_cuda_dirs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
  foreach(_dir IN LISTS _wheel_cuda_dirs)
    add_link_options("LINKER:-rpath-link,${_dir}")
  endforeach()
  message(STATUS "LibTorch ${Torch_VERSION} from ${TORCH_INSTALL_PREFIX}")
endmacro()
