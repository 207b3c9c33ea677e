# Torch headers dominate compile time on 2-core machines: every target
# precompiles the few it uses most.
function(reskit_torch_pch target)
  target_precompile_headers(${target} PRIVATE
    <torch/nn/module.h>
    <torch/nn/modules/conv.h>
    <torch/nn/modules/batchnorm.h>
    <torch/nn/modules/linear.h>
    <torch/nn/modules/activation.h>
    <torch/nn/modules/pooling.h>
    <ATen/ATen.h>
    <string>
    <vector>
    <map>)
endfunction()
