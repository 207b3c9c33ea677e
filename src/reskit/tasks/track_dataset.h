#pragma once
// Single-object tracking datasets for one-pass evaluation, read as pysot's
// toolkit (toolkit/datasets/{dataset,video,otb}.py) sees them: sequences of
// frames, one ground-truth box per frame, iterated in sorted name order.
//
// Boxes are x, y, w, h exactly as the files store them. pysot's OTB100.json
// holds OTB's groundtruth_rect.txt values unchanged (OTB's 1-based corner),
// and pysot's tools/test.py and its benchmark use them unchanged too; so do
// we, in both layouts, so that results and metrics are pysot's numbers.
//
// Two layouts of DATASET_DIR:
//  * pysot's dataset JSON, DATASET_DIR/<DATASET_DIR's name>.json (OTB100/
//    OTB100.json, as pysot's testing_dataset has it), else the one *.json in
//    DATASET_DIR: {video: {"video_dir", "init_rect", "img_names", "gt_rect",
//    "attr"}}, image names relative to DATASET_DIR. The JSON carries what
//    the folders cannot: a sequence's first and last frame (OTB's David starts
//    at frame 300) and which target of a multi-target folder it is.
//  * OTB's folders otherwise: DATASET_DIR/<Name>/img/ (images in name
//    order) and groundtruth_rect.txt (4 numbers a line, separated by commas,
//    tabs or spaces); groundtruth_rect.<k>.txt is target k, the sequence
//    <Name>-<k> (Jogging-1, Jogging-2) on the same img/. Frames and boxes
//    must be as many. Folders with neither img/ nor a groundtruth file are
//    not sequences (an output folder may sit beside them).
//
// Input is outside data: reading costs at most a pass over each file, and a
// file larger than the caps below is refused before it is read. Every fault
// is one reskit::Error naming the file (and line).
#include <cstdint>
#include <string>
#include <vector>

#include "reskit/tasks/tracking.h"

namespace reskit::tasks {

struct TrackSequence {
  std::string name;                     // the result file's stem: "Basketball", "Jogging-1"
  std::vector<std::string> frames;      // image paths, one per ground-truth box
  std::vector<TrackBox> ground_truth;
  std::vector<std::string> attributes;  // the JSON's "attr" (OTB's IV, SV, ...); none for folders
};

struct TrackDataset {
  std::string name;    // DATASET_DIR's own name ("OTB100"): the plots' titles
  std::string root;
  std::string source;  // the JSON read, or "" for the folder layout
  std::vector<TrackSequence> sequences;  // sorted by name, as pysot's Dataset iterates
};

// Caps far above real data: OTB's groundtruth files are a few KB, pysot's
// OTB100.json a few MB.
constexpr uint64_t kMaxGroundTruthBytes = 64ull << 20;
constexpr uint64_t kMaxDatasetJsonBytes = 256ull << 20;

TrackDataset open_track_dataset(const std::string& root);

// A file's text, refused unread past `cap` bytes; `what` names it in errors.
std::string read_capped(const std::string& path, uint64_t cap, const std::string& what);
// Names that become a file or folder under the output directory: nothing
// that leaves it ("..", separators, NUL). The error is PREFIX'name' cannot name ROLE.
void check_file_name(const std::string& name, const std::string& prefix, const std::string& role);

// The pieces, for tests and fuzzing; `source` names the text in errors.
std::vector<TrackBox> parse_ground_truth(const std::string& text, const std::string& source);
// Checks every named image exists (a broken dataset fails before tracking).
TrackDataset parse_dataset_json(const std::string& text, const std::string& source, const std::string& root);

}  // namespace reskit::tasks
