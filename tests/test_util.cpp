#include "test_util.h"

#include "reskit/core/cpu_features.h"
#include "reskit/core/error.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace reskit::test {

// RESKIT_MAX_CPU_ISA caps oneDNN here as it does in the CLI (ctest runs the
// kernel tests once more under a cap: tests/CMakeLists.txt).
[[maybe_unused]] const bool kIsaCapPassedOn = [] {
  pass_cpu_isa_cap_to_onednn();  // an unknown name ends the suite with its message
  return true;
}();

std::string fixture(const std::string& name) { return std::string(RESKIT_FIXTURE_DIR) + "/" + name; }

namespace {
// Every temp_dir of a test process lies under one root, removed when the
// process exits: a suite run leaves nothing behind in the temp folder.
class TempRoot {
 public:
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("reskit_test_" + std::to_string(::getpid()));
  ~TempRoot() {
    std::error_code ignored;
    if (::getpid() == owner_) std::filesystem::remove_all(path, ignored);
  }

 private:
  const pid_t owner_ = ::getpid();
};
}  // namespace

std::string temp_dir(const std::string& name) {
  static TempRoot root;
  auto dir = root.path / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

::testing::AssertionResult close(const at::Tensor& actual, const at::Tensor& expected, double rel_tol) {
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream s;
    s << "shape " << actual.sizes() << " vs expected " << expected.sizes();
    return ::testing::AssertionFailure() << s.str();
  }
  at::Tensor a = actual.to(at::kDouble).cpu(), e = expected.to(at::kDouble).cpu();
  double scale = e.numel() ? e.abs().max().item<double>() : 0.0;
  double limit = rel_tol * std::max(scale, 1e-12);
  at::Tensor diff = (a - e).abs().flatten();
  double worst = diff.numel() ? diff.max().item<double>() : 0.0;
  if (std::isfinite(worst) && worst <= limit)
    return ::testing::AssertionSuccess() << "max abs error " << worst << " <= " << limit;
  int64_t at_index = diff.numel() ? diff.argmax().item<int64_t>() : 0;
  return ::testing::AssertionFailure() << "max abs error " << worst << " at flat index " << at_index
                                       << " exceeds " << limit << " (" << rel_tol << " x max|ref| " << scale << ")";
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

CommandResult run_shell(const std::string& command) {
  std::string dir = temp_dir("cmd");
  std::string out = dir + "/out", err = dir + "/err";
  int raw = std::system((command + " >" + out + " 2>" + err + " </dev/null").c_str());
  CommandResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  r.out = read_text(out);
  r.err = read_text(err);
  std::filesystem::remove_all(dir);
  return r;
}

CommandResult run_reskit(const std::string& args) { return run_shell(std::string(RESKIT_BINARY) + " " + args); }

CommandResult run_python(const std::string& code) {
  std::string dir = temp_dir("py");
  std::string script = dir + "/snippet.py";
  std::ofstream(script) << code;
  CommandResult r = run_shell(std::string(RESKIT_PYTHON) + " " + script);
  std::filesystem::remove_all(dir);
  return r;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return in.good() ? nlohmann::json::parse(in) : nlohmann::json();
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

models::Model build(const std::string& model, const std::vector<std::string>& sets) {
  Options options = models::default_options(model);
  for (const std::string& s : sets) options.set_from_assignment(s);
  return models::build_model(options);
}

namespace {
nlohmann::json listed_cases() {
  std::ifstream in(RESKIT_CASES_JSON);
  return in ? nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false) : nlohmann::json();
}
}  // namespace

const std::vector<ParityCase>& parity_cases() {
  static const std::vector<ParityCase> cases = [] {
    std::vector<ParityCase> out;
    const nlohmann::json listed = listed_cases();
    if (listed.is_object() && listed.contains("parity"))
      for (const auto& c : listed["parity"])
        out.push_back({c["family"], c["id"], c["model"], c["sets"].get<std::vector<std::string>>(), c["legacy"]});
    return out;
  }();
  return cases;
}

const ParityCase& parity_case(const std::string& family, const std::string& id) {
  for (const ParityCase& c : parity_cases())
    if (c.family == family && c.id == id) return c;
  throw std::runtime_error("no parity case " + family + "/" + id + " was listed");
}

const std::vector<std::string>& summary_case_ids() {
  static const std::vector<std::string> ids = [] {
    const nlohmann::json listed = listed_cases();
    return listed.is_object() && listed.contains("summary") ? listed["summary"].get<std::vector<std::string>>()
                                                            : std::vector<std::string>{};
  }();
  return ids;
}

}  // namespace reskit::test
