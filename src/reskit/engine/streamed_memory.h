#pragma once
// Memory for what a plan reads on every run and keeps for its life: reordered
// weights and the arenas. A resnet50 run streams ~100 MB of weights; on 4 KiB
// pages each page costs a TLB miss and stops the hardware prefetcher at its
// edge, and the 7x7 stage, which is bound by how fast its weights arrive, ran
// ~15% slower. Blocks of 2 MiB and more are therefore aligned to 2 MiB and
// asked for as transparent huge pages (Linux, where the system grants them
// on request); smaller ones are cache-line aligned.
#include <cstddef>
#include <memory>

namespace reskit::engine {

// `bytes` of uninitialised memory, freed when the last owner lets it go.
std::shared_ptr<std::byte> allocate_streamed(size_t bytes);

}  // namespace reskit::engine
