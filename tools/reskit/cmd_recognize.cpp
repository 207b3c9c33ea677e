// reskit recognize: the action in videos (or directories of frames) with a
// video recogniser, as mmaction2's I3D test pipeline scores them.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/tasks/opencv/recognizer.h"
#endif

namespace reskit::cli {

int cmd_recognize(const Args& argv) {
  ModelCommand command(
      "recognize", "reskit recognize [MODEL] --weights W [--protocol test|val] [--labels FILE] VIDEO|FRAMES_DIR...",
      "The action in each video with a video recogniser (default i3d_r50), by mmaction2's I3D test pipeline: "
      "clips of --clip-len frames --frame-interval apart, short side 256, RGB normalised; test: 10 clips x 3 crops "
      "of 256, val: 1 clip, centre crop 224; class probabilities averaged over the views.",
      {{"protocol", "test|val", "test (default): 10 clips x ThreeCrop 256; val: 1 clip x CenterCrop 224"},
       {"clip-len", "N", "frames per clip (default 32)"},
       {"frame-interval", "N", "take every N-th frame (default 2)"},
       {"num-clips", "N", "clips per video (default: 10 for test, 1 for val)"},
       {"labels", "FILE", "class names, one per line (default: opencv-doc's Kinetics-400 list)"},
       {"top", "K", "classes shown (default 5)"},
       {"format", "text|json", "output format (default text; json adds every class's probability)"},
       ModelCommand::engine_flag(),
       {"quiet", "", "no progress on stderr"}});
  if (!command.parse(argv, 1 << 20)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("recognize: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  std::vector<std::string> videos;
  const std::string model_name = command.model_before_inputs("i3d_r50", videos);
  if (videos.empty()) throw Error("recognize: no video given");
  for (const std::string& video : videos)  // before any work: a typo fails at once
    if (!std::filesystem::exists(video)) throw Error("'" + video + "' does not exist");
  const std::string format = command.command().choice(args, "format", {"text", "json"});
  tasks::RecognitionProtocol protocol =
      tasks::recognition_protocol(command.command().choice(args, "protocol", {"test", "val"}));
  protocol.clip_len = args.get_int("clip-len", protocol.clip_len);
  protocol.frame_interval = args.get_int("frame-interval", protocol.frame_interval);
  protocol.num_clips = args.get_int("num-clips", protocol.num_clips);
  if (protocol.clip_len < 1 || protocol.frame_interval < 1 || protocol.num_clips < 1)
    throw Error("recognize: --clip-len, --frame-interval and --num-clips must be at least 1");
  const int64_t top = args.get_int("top", 5);
  if (top < 1) throw Error("recognize: --top must be at least 1");

  const tasks::PreparedModel prepared = command.prepare(model_name);
  const tasks::Recognizer recognizer(prepared.model, prepared.device, protocol, command.engine());
  std::vector<std::string> labels;
  char line[256];
  std::snprintf(line, sizeof line, "protocol %s: %lld clip(s) of %lld frames, interval %lld, %s, short side %lld\n",
                protocol.name.c_str(), static_cast<long long>(protocol.num_clips),
                static_cast<long long>(protocol.clip_len), static_cast<long long>(protocol.frame_interval),
                protocol.three_crop ? "ThreeCrop 256" : "CenterCrop 224", static_cast<long long>(protocol.short_side));
  if (format == "text") std::cout << line;

  nlohmann::json results = nlohmann::json::array();
  for (const std::string& video : videos) {
    const tasks::Recognition r = recognizer.recognize(video, progress_style(args.has("quiet")));
    const int64_t classes = r.probabilities.numel();
    if (labels.empty()) labels = tasks::recognition_labels(classes, args.get("labels"));
    const std::vector<tasks::RankedClass> best = tasks::top_classes(r.probabilities, top);
    if (format == "json") {
      nlohmann::json top_json = nlohmann::json::array();
      for (const auto& c : best) top_json.push_back({{"class", c.index}, {"label", labels[c.index]}, {"probability", c.probability}});
      const at::Tensor p = r.probabilities.to(at::kDouble).contiguous();
      results.push_back({{"video", video},
                         {"protocol", protocol.name},
                         {"total_frames", r.total_frames},
                         {"frame_inds", r.clips},
                         {"views", r.views},
                         {"top", top_json},
                         {"probabilities", std::vector<double>(p.data_ptr<double>(), p.data_ptr<double>() + classes)}});
      continue;
    }
    std::cout << video << ": " << r.total_frames << " frames, " << r.views << (r.views == 1 ? " view\n" : " views\n");
    for (const auto& c : best) {
      std::snprintf(line, sizeof line, "  %6.2f%%  %s\n", 100.0 * c.probability, labels[c.index].c_str());
      std::cout << line;
    }
  }
  if (format == "json") std::cout << results.dump(1) << '\n';
  return 0;
#endif
}

}  // namespace reskit::cli
