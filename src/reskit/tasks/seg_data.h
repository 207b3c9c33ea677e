#pragma once
// Segmentation data in CamVid's layout, as seeds/004 reads it:
//   DIR/train_images/  DIR/train_labels/  DIR/valid_images/  DIR/valid_labels/
// each label named as its image (or as CamVid's `<stem>_L.png`), holding class
// indices (255 ignored) in an index PNG, a palette PNG, or colours mapped
// through DIR/class_colours.txt (or --colours FILE); class names from
// DIR/class_names.txt when present. Pure file logic: reading pixels is
// io/opencv/label_image.h, loading batches tasks/opencv/seg_loader.h.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace reskit::tasks {

constexpr int64_t kIgnoreLabel = 255;

struct SegSample {
  std::string image, label;  // paths
};

// One colour per class index, RGB.
using ClassColours = std::vector<std::array<uint8_t, 3>>;

struct SegDataset {
  std::string root;
  std::vector<SegSample> train, valid;
  std::vector<std::string> class_names;  // empty: none given (indices are used)
  // RGB labels are mapped through it (unknown colours -> kIgnoreLabel); empty:
  // an RGB label's channel 0 is its index (seeds/004's mask[:, :, 0]).
  // Grayscale and palette PNGs hold indices whatever it holds.
  ClassColours colours;
};

// Lists DIR's splits; a missing folder, an image without its label, or an
// empty split is a one-line reskit::Error naming the path. `colours_file`
// overrides DIR/class_colours.txt.
SegDataset read_seg_dataset(const std::string& dir, const std::string& colours_file = "");
// One split only ("train", "valid" or "test"), for eval-seg. Images of
// DIR/<split>_images in name order, labels from DIR/<split>_labels.
std::vector<SegSample> read_seg_split(const std::string& dir, const std::string& split);

// Text files of the dataset: one name per line; one "R G B" (or "R,G,B",
// optionally followed by a name) per line. At most kMaxClassLines lines (255
// is the ignore label), each one's number its class index; blank lines are
// allowed only at the end, '\r' line ends are accepted, a duplicate colour
// is an error (it would name two classes). Files over kMaxClassFileBytes are
// refused before they are read. Errors name the file and the line.
constexpr int64_t kMaxClassLines = 255;
constexpr uint64_t kMaxClassFileBytes = 1 << 20;
std::vector<std::string> read_class_names(const std::string& path);
ClassColours read_class_colours(const std::string& path);
// The same over text in memory; `name` is used in error messages.
std::vector<std::string> parse_class_names(const std::string& text, const std::string& name);
ClassColours parse_class_colours(const std::string& text, const std::string& name);

// The label of `image_name` among the label folder's file names: the same
// name, else <stem>.png, else CamVid's <stem>_L.png; "" when none is there.
std::string label_name_for(const std::string& image_name, const std::vector<std::string>& label_names);

// seeds/004's Cam_COLORMAP (37 colours) and Cam_CLASSES (32 names), the
// defaults for drawing and naming.
const ClassColours& camvid_seed_colours();
const std::vector<std::string>& camvid_seed_names();

}  // namespace reskit::tasks
