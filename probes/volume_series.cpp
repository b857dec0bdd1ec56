#include "probes/volume_series.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/time_format.hpp"

namespace datawatch {
namespace {

using namespace std::chrono;

std::string dayOf(TimePoint t) {
  return formatRfc3339(t).substr(0, 10);
}

int64_t dayStartMillis(const std::string& day) {
  const auto t = parseTimestamp(day + "T00:00:00Z");
  return t ? toUnixMillis(*t) : 0;
}

// Counts as integers ("1234", not "1234.0"); anything else as a number.
nlohmann::json compactValue(double v) {
  if (std::fabs(v) < 9e15 && v == std::floor(v)) return static_cast<int64_t>(v);
  return v;
}

}  // namespace

VolumeSeries::VolumeSeries(std::string key, Duration training, size_t max_points)
    : key_(std::move(key)), training_(training), max_points_(max_points) {}

Status VolumeSeries::load(SnapshotStore& store, TimePoint now) {
  points_.clear();
  stored_days_.clear();
  dirty_days_.clear();
  index_dirty_ = false;
  capped_ = 0;
  auto index = store.loadSnapshot(key_);
  if (!index) return index.status();
  if (!*index || !(*index)->is_object()) return Status::Ok();
  const nlohmann::json& doc = **index;
  if (doc.contains("points")) {  // the previous format: one document, rewritten as days
    for (const auto& p : doc["points"])
      points_.push_back(
          {fromUnixMillis(p.at(0).get<int64_t>()), p.at(1).get<double>(), p.at(2).get<int>() != 0});
    index_dirty_ = true;
    for (const auto& p : points_) dirty_days_.insert(dayOf(p.at));
  } else {
    for (const auto& d : doc.value("days", nlohmann::json::array())) {
      const std::string day = d.get<std::string>();
      stored_days_.insert(day);
      auto chunk = store.loadSnapshot(dayKey(day));
      if (!chunk) return chunk.status();
      if (*chunk && (*chunk)->is_object()) decodeDay(**chunk, day);
    }
    std::sort(points_.begin(), points_.end(),
              [](const SeriesPoint& a, const SeriesPoint& b) { return a.at < b.at; });
  }
  bound(now);
  return Status::Ok();
}

void VolumeSeries::assign(std::vector<SeriesPoint> points, TimePoint now) {
  points_ = std::move(points);
  for (const auto& p : points_) dirty_days_.insert(dayOf(p.at));
  bound(now);
}

void VolumeSeries::add(const SeriesPoint& p, TimePoint now) {
  points_.push_back(p);
  dirty_days_.insert(dayOf(p.at));
  bound(now);
}

void VolumeSeries::bound(TimePoint now) {
  const TimePoint cutoff = now - training_;
  std::erase_if(points_, [&](const SeriesPoint& p) { return p.at < cutoff; });
  const size_t over = points_.size() > max_points_ ? points_.size() - max_points_ : 0;
  if (over > 0) {
    for (size_t i = 0; i < over; ++i) dirty_days_.insert(dayOf(points_[i].at));
    points_.erase(points_.begin(), points_.begin() + static_cast<long>(over));
    capped_ += over;
  }
}

nlohmann::json VolumeSeries::encodeDay(const std::string& day) const {
  nlohmann::json t = nlohmann::json::array(), v = nlohmann::json::array(),
                 a = nlohmann::json::array();
  const int64_t start = dayStartMillis(day), end = start + 86400000;
  int64_t prev = start;
  for (const auto& p : points_) {
    const int64_t ms = toUnixMillis(p.at);
    if (ms < start || ms >= end) continue;
    t.push_back(ms - prev);
    prev = ms;
    if (p.anomalous) a.push_back(v.size());
    v.push_back(compactValue(p.value));
  }
  if (v.empty()) return nullptr;
  nlohmann::json doc = {{"t", t}, {"v", v}};
  if (!a.empty()) doc["a"] = a;
  return doc;
}

void VolumeSeries::decodeDay(const nlohmann::json& doc, const std::string& day) {
  const auto& t = doc.at("t");
  const auto& v = doc.at("v");
  std::set<size_t> anomalous;
  for (const auto& i : doc.value("a", nlohmann::json::array())) anomalous.insert(i.get<size_t>());
  int64_t ms = dayStartMillis(day);
  for (size_t i = 0; i < t.size() && i < v.size(); ++i) {
    ms += t[i].get<int64_t>();
    points_.push_back({fromUnixMillis(ms), v[i].get<double>(), anomalous.count(i) > 0});
  }
}

Status VolumeSeries::save(SnapshotStore& store) {
  std::set<std::string> days;
  for (const auto& p : points_) days.insert(dayOf(p.at));
  // Days that left the window (or were capped away) are overwritten with null.
  for (const auto& d : stored_days_)
    if (!days.count(d)) dirty_days_.insert(d);
  for (const auto& d : dirty_days_) {
    Status s = store.saveSnapshot(dayKey(d), encodeDay(d));
    if (!s.ok()) return s;
  }
  dirty_days_.clear();
  capped_ = 0;
  if (index_dirty_ || days != stored_days_) {
    Status s = store.saveSnapshot(key_, {{"format", 2}, {"days", days}});
    if (!s.ok()) return s;
    stored_days_ = days;
    index_dirty_ = false;
  }
  return Status::Ok();
}

}  // namespace datawatch
