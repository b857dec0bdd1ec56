#pragma once
// Distribution-drift statistics over two histograms that share their bins: the
// baseline and the current distribution of one column. Pure functions, no I/O;
// the drift probe (drift.cpp) builds the histograms inside the database.
//
// Conventions (docs/drift.md explains the choices):
// - Counts are non-negative. Bins empty on BOTH sides carry no information and
//   are dropped before any statistic (duplicate quantile edges, an unused
//   "other" or null bin).
// - Smoothing: PSI and chi-square need every proportion > 0, so every remaining
//   count of both sides gets +0.5 (Jeffreys' prior, kSmoothing) before it becomes
//   a proportion. JS, KS and Wasserstein use the raw proportions.
// - Each statistic also returns one contribution per input bin (0 for dropped
//   bins); the contributions add up to the score (JS: to its square; KS: the score
//   is their maximum).

#include <optional>
#include <vector>

namespace datawatch::drift {

constexpr double kSmoothing = 0.5;

struct Score {
  double value = 0;
  std::vector<double> contributions;  // one per input bin
  // Chi-square only: the p-value (upper tail) and degrees of freedom.
  std::optional<double> p_value;
  int df = 0;
};

// Population stability index: sum over bins of (q - p) * ln(q / p), smoothed.
// 0 for identical histograms; < 0.1 stable, 0.1-0.25 moderate, > 0.25 large.
Score psi(const std::vector<double>& baseline, const std::vector<double>& current);

// Jensen-Shannon distance with base-2 logarithms: in [0, 1]; 0 identical,
// 1 disjoint. The contributions are those of the divergence (the score squared).
Score jsDistance(const std::vector<double>& baseline, const std::vector<double>& current);

// Pearson's chi-square goodness of fit of the current counts to the baseline's
// (smoothed) proportions: statistic, and its p-value with (bins - 1) degrees of
// freedom. An empty current histogram gives 0 and p = 1.
Score chiSquare(const std::vector<double>& baseline, const std::vector<double>& current);

// Kolmogorov-Smirnov statistic on the binned CDFs: the largest |F - G| at a bin
// boundary, bins in value order. It never exceeds the exact two-sample statistic
// D and falls short of it by at most ksErrorBound() (within one bin, each CDF
// moves by at most that bin's mass).
Score ksBinned(const std::vector<double>& baseline, const std::vector<double>& current);
double ksErrorBound(const std::vector<double>& baseline, const std::vector<double>& current);

// One bin of a numeric histogram: its count, and the smallest, largest and mean
// value that fell in it (unused when count is 0).
struct NumericBin {
  double count = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
};

// First Wasserstein distance between two numeric histograms, each bin's mass
// placed at the mean of its values; in the column's unit. Exact when every bin
// holds a single distinct value; otherwise within wassersteinErrorBound(), and in
// practice far closer (docs/drift.md). Contributions: the area of |F - G| over
// the gap to the right of each bin's mean, per input bin.
Score wasserstein(const std::vector<NumericBin>& baseline, const std::vector<NumericBin>& current);

// A bound on |binned - exact| Wasserstein distance: moving a bin's values to
// their mean moves mass p by at most half the bin's width (max - min), so
// sum over both sides and bins of p * width / 2.
double wassersteinErrorBound(const std::vector<NumericBin>& baseline,
                             const std::vector<NumericBin>& current);

}  // namespace datawatch::drift
