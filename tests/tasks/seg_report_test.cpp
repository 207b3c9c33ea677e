// metrics.csv written and read back (as --resume continues it), its column
// names, the reader's refusals, and the per-class table and JSON.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "reskit/core/error.h"
#include "reskit/tasks/seg_report.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;

tasks::EpochMetrics row(int64_t epoch, double base) {
  tasks::EpochMetrics r;
  r.epoch = epoch;
  r.train_loss = 1.0 / (base + 3);
  r.train_pixel_acc = base / 7;
  r.train_seed_acc = base / 9;
  r.val_pixel_acc = base / 8;
  // val_seed_acc stays NaN: an epoch may lack a value
  r.val_miou = 0.1 + base / 11;
  r.lr = 0.1;
  r.seconds = 12.5 * epoch;
  r.images_per_s = 3.25;
  r.class_iou = {base / 13, std::nan(""), 0.0};
  return r;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

TEST(SegReport, CsvRoundTripsExactly) {
  const std::string dir = test::temp_dir("seg_report_csv");
  const std::string path = dir + "/metrics.csv";
  const std::vector<std::string> columns = tasks::iou_columns(3, {"Sky", "Road"});
  EXPECT_EQ(columns, (std::vector<std::string>{"iou_Sky", "iou_Road", "iou_2"}));
  const std::vector<tasks::EpochMetrics> rows = {row(1, 1.0), row(2, 2.5), row(3, 3.7)};
  tasks::write_metrics_csv(path, rows, columns);
  const std::string text = test::read_text(path);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "epoch,train_loss,train_pixel_acc,train_seed_acc,val_pixel_acc,val_seed_acc,val_miou,lr,seconds,"
            "images_per_s,iou_Sky,iou_Road,iou_2");
  const tasks::MetricsTable table = tasks::read_metrics_csv(path);
  EXPECT_EQ(table.iou_columns, columns);
  ASSERT_EQ(table.rows.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const tasks::EpochMetrics &a = table.rows[i], &b = rows[i];
    EXPECT_EQ(a.epoch, b.epoch);
    for (auto field : {&tasks::EpochMetrics::train_loss, &tasks::EpochMetrics::train_pixel_acc,
                       &tasks::EpochMetrics::train_seed_acc, &tasks::EpochMetrics::val_pixel_acc,
                       &tasks::EpochMetrics::val_seed_acc, &tasks::EpochMetrics::val_miou, &tasks::EpochMetrics::lr,
                       &tasks::EpochMetrics::seconds, &tasks::EpochMetrics::images_per_s})
      EXPECT_TRUE(same(a.*field, b.*field)) << i << ": " << a.*field << " vs " << b.*field;
    ASSERT_EQ(a.class_iou.size(), 3u);
    for (size_t k = 0; k < 3; ++k) EXPECT_TRUE(same(a.class_iou[k], b.class_iou[k]));
  }
  // A resumed run rewrites the rows it read plus its own: the same text for the same rows.
  std::vector<tasks::EpochMetrics> resumed(table.rows.begin(), table.rows.begin() + 2);
  resumed.push_back(row(3, 3.7));
  tasks::write_metrics_csv(path, resumed, table.iou_columns);
  EXPECT_EQ(test::read_text(path), text);
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename(), "metrics.csv");
  fs::remove_all(dir);
}

TEST(SegReport, ColumnNamesAreSafeAndUnique) {
  EXPECT_EQ(tasks::iou_columns(4, {"Column_Pole", "Car, parked", "Car, parked", ""}),
            (std::vector<std::string>{"iou_Column_Pole", "iou_Car__parked", "iou_Car__parked_2", "iou_3"}));
  EXPECT_TRUE(tasks::iou_columns(0, {}).empty());
}

TEST(SegReport, ReaderRefusesWhatItCannotContinue) {
  const std::string dir = test::temp_dir("seg_report_bad");
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name, std::ios::binary) << text;
    return dir + "/" + name;
  };
  const auto expect_error = [](const std::string& path, const std::string& needle) {
    try {
      tasks::read_metrics_csv(path);
      ADD_FAILURE() << path << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  };
  expect_error(dir + "/missing.csv", "does not exist");
  expect_error(write("empty.csv", ""), "empty");
  expect_error(write("no_miou.csv", "epoch,train_loss,val_pixel_acc\n1,0.5,0.5\n"), "'val_miou'");
  expect_error(write("unknown.csv", "epoch,train_loss,val_pixel_acc,val_miou,colour\n"), "unknown column 'colour'");
  expect_error(write("twice.csv", "epoch,train_loss,val_pixel_acc,val_miou,val_miou\n"), "twice");
  const std::string header = "epoch,train_loss,val_pixel_acc,val_miou,iou_0\n";
  expect_error(write("short.csv", header + "1,0.5,0.5\n"), "line 2: 3 fields for 5 columns");
  expect_error(write("word.csv", header + "1,0.5,half,0.2,0.1\n"), "'half' is not a number");
  expect_error(write("epoch.csv", header + "1.5,0.5,0.5,0.2,0.1\n"), "epoch '1.5'");
  expect_error(write("order.csv", header + "2,0.5,0.5,0.2,0.1\n2,0.4,0.6,0.3,0.1\n"), "line 3: epoch 2 does not follow");
  const std::string big = write("big.csv", header);
  fs::resize_file(big, tasks::kMaxMetricsBytes + 1);
  expect_error(big, "larger than");
  // Optional columns may be missing; a CRLF file and an empty field read as NaN.
  const tasks::MetricsTable t = tasks::read_metrics_csv(write("minimal.csv", header + "1,0.5,,0.25,nan\r\n"));
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_TRUE(std::isnan(t.rows[0].val_pixel_acc));
  EXPECT_TRUE(std::isnan(t.rows[0].lr));
  EXPECT_EQ(t.rows[0].val_miou, 0.25);
  EXPECT_TRUE(std::isnan(t.rows[0].class_iou.at(0)));
  fs::remove_all(dir);
}

// The reader's cost is bounded by its input: fields never outnumber bytes plus lines.
TEST(SegReport, ReadCostFollowsTheText) {
  const std::string text = "epoch,train_loss,val_pixel_acc,val_miou,iou_a\n1,0.5,0.5,0.25,0.1\n2,,,,\n";
  tasks::MetricsReadCost cost;
  const tasks::MetricsTable t = tasks::parse_metrics_csv(text, "inline", &cost);
  EXPECT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(cost.text_bytes, text.size());
  EXPECT_EQ(cost.lines, 3u);
  EXPECT_EQ(cost.fields, 15u);
  EXPECT_LE(cost.fields, cost.text_bytes + cost.lines);
  tasks::MetricsReadCost commas;
  EXPECT_THROW(tasks::parse_metrics_csv(std::string(1000, ','), "commas", &commas), Error);
  EXPECT_LE(commas.fields, commas.text_bytes + commas.lines);
}

TEST(SegReport, WriterChecksRows) {
  const std::string dir = test::temp_dir("seg_report_write");
  EXPECT_THROW(tasks::write_metrics_csv(dir + "/m.csv", {row(1, 1)}, {"iou_a"}), Error);
  EXPECT_FALSE(fs::exists(dir + "/m.csv"));
  fs::remove_all(dir);
}

TEST(SegReport, TableAndJsonNameClassesAndShowNaN) {
  tasks::ConfusionMatrix m(3);
  // Class 0: 2 right of 3; class 1: predicted once, never a label; class 2: nowhere.
  m.add(at::tensor({0, 0, 1, 0}, at::kLong), at::tensor({0, 0, 0, 255}, at::kLong));
  const std::string table = tasks::class_iou_table(m, {"Sky"});
  EXPECT_NE(table.find("Sky"), std::string::npos) << table;
  EXPECT_NE(table.find("66.67"), std::string::npos) << table;  // IoU 2 / (3 + 2 - 2), Acc 2 / 3
  EXPECT_NE(table.find("nan"), std::string::npos) << table;
  const nlohmann::json j = nlohmann::json::parse(tasks::seg_metrics_json(m, {"Sky"}));
  EXPECT_EQ(j["classes"][0]["name"], "Sky");
  EXPECT_EQ(j["classes"][1]["name"], "1");
  EXPECT_DOUBLE_EQ(j["classes"][0]["iou"].get<double>(), m.class_iou()[0]);
  EXPECT_EQ(j["classes"][1]["iou"].get<double>(), 0.0);
  EXPECT_TRUE(j["classes"][1]["accuracy"].is_null());
  EXPECT_TRUE(j["classes"][2]["iou"].is_null());
  EXPECT_DOUBLE_EQ(j["mean_iou"].get<double>(), m.mean_iou());
  EXPECT_EQ(j["all_pixels"], 4);
  EXPECT_EQ(j["counted_pixels"], 3);
  EXPECT_DOUBLE_EQ(j["seed_accuracy"].get<double>(), 0.5);
}

}  // namespace
}  // namespace reskit
