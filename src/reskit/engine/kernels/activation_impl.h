#pragma once
// The activation of a convolution's epilogue (own_conv.h's ConvEpilogue, as
// the kernels' layer structs hold it: 0 none, 1 ReLU, 2 LeakyReLU(alpha),
// 3 clip(alpha, beta)) over a vector type V. Included by the kernels'
// *_impl.h inside each ISA file's anonymous namespace.
// max and min give their second operand where either is NaN (x86's rule,
// and V's): x goes second, so that NaN comes through as in PyTorch.
template <class V>
typename V::T activate(int activation, float alpha, float beta, typename V::T x) {
  switch (activation) {
    case 1: return V::max(V::zero(), x);
    case 2: return V::select_positive(x, V::mul(x, V::set1(alpha)));
    case 3: return V::min(V::set1(beta), V::max(V::set1(alpha), x));
    default: return x;
  }
}
