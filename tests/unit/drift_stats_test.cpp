// The drift statistics on small histograms whose values are worked out by hand
// (the reference comparison on real data is tests/integration/drift_test.cpp).

#include <catch2/catch.hpp>

#include <cmath>

#include "probes/drift_stats.hpp"

using namespace datawatch::drift;

TEST_CASE(
    "psi: zero for equal shapes, the textbook sum otherwise, bins empty on both sides dropped",
    "[drift]") {
  CHECK(psi({10, 20, 0, 30}, {10, 20, 0, 30}).value == 0);
  // Same shape, other size: only the smoothing differs, a few 1e-5.
  CHECK(psi({10, 20, 0, 30}, {20, 40, 0, 60}).value < 1e-4);
  // Smoothed: (50.5/101, 50.5/101) vs (20.5/101, 80.5/101).
  const double p1 = 50.5 / 101, q1 = 20.5 / 101, q2 = 80.5 / 101;
  const Score s = psi({50, 0, 50}, {20, 0, 80});
  CHECK(s.value == Approx((q1 - p1) * std::log(q1 / p1) + (q2 - p1) * std::log(q2 / p1)));
  CHECK(s.contributions.size() == 3);
  CHECK(s.contributions[1] == 0);
}

TEST_CASE("js distance: 0 identical, 1 disjoint, and sqrt of the divergence between", "[drift]") {
  CHECK(jsDistance({5, 5}, {1, 1}).value == Approx(0).margin(1e-12));
  CHECK(jsDistance({10, 0}, {0, 10}).value == Approx(1));
  // p = (1/2, 1/2), q = (1, 0), m = (3/4, 1/4):
  // JSD = (1/2)[1/2 log2(2/3) + 1/2 log2(2)] + (1/2)[log2(4/3)]
  const double jsd = 0.5 * (0.5 * std::log2(2.0 / 3) + 0.5) + 0.5 * std::log2(4.0 / 3);
  CHECK(jsDistance({1, 1}, {2, 0}).value == Approx(std::sqrt(jsd)));
}

TEST_CASE("chi-square: the statistic and its p-value from the regularised gamma", "[drift]") {
  // Expected (smoothed) 50.5/101 each of 100: 50 each -> observed 60/40 gives 2 * 10^2/50 = 4.
  const Score s = chiSquare({50, 50}, {60, 40});
  CHECK(s.value == Approx(4.0));
  CHECK(s.df == 1);
  CHECK(*s.p_value == Approx(0.0455003).epsilon(1e-5));  // 1 - F(4; 1) = erfc(sqrt(2))
  CHECK(*chiSquare({1, 1}, {0, 0}).p_value == 1.0);
}

TEST_CASE("binned ks: the largest CDF gap at bin boundaries, and its error bound", "[drift]") {
  const Score s = ksBinned({25, 25, 25, 25}, {0, 50, 25, 25});
  CHECK(s.value == Approx(0.25));
  CHECK(ksErrorBound({25, 25, 25, 25}, {0, 50, 25, 25}) == Approx(0.5));
}

TEST_CASE("wasserstein: mass moves between bin means", "[drift]") {
  // All mass at 0 vs all at 3: distance 3.
  CHECK(wasserstein({{10, 0, 0, 0}, {0, 0, 0, 0}}, {{0, 0, 0, 0}, {10, 3, 3, 3}}).value ==
        Approx(3));
  // Half at 0 and half at 4 vs all at 1: |F - G| is 1/2 on [0, 1), 1/2 on [1, 4).
  const Score s = wasserstein({{5, 0, 0, 0}, {5, 4, 4, 4}}, {{10, 1, 1, 1}, {0, 0, 0, 0}});
  CHECK(s.value == Approx(0.5 * 1 + 0.5 * 3));
  CHECK(s.contributions[0] == Approx(0.5 + 1.5));  // both gaps start at bin 0's atoms
  // Values spread over [0, 2] (mean 1) vs a point at 1: 0 between means, bound 1/2.
  CHECK(wasserstein({{10, 0, 2, 1}}, {{10, 1, 1, 1}}).value == Approx(0).margin(1e-12));
  CHECK(wassersteinErrorBound({{10, 0, 2, 1}}, {{10, 1, 1, 1}}) == Approx(1));
}
