# Reference values for the response endpoints (bsab_explorer.analyses.duration_of_response and
# .mrd), computed with R's survival package and stats::binom.test.
#
# Run from this folder:   Rscript endpoints.R > endpoints.txt
# The tests paste the printed values next to this code's name; they never need R.

suppressPackageStartupMessages(library(survival))
options(digits = 15)

# --- duration of response ----------------------------------------------------------------------
# The responders of tests/analyses/test_duration_of_response.py: first response day (days since
# the first full dose), pfs_days and pfs_event; emd is the grouping column. R01 progresses on the
# day of its first response (a duration of 0 with an event), R13 is censored on that day.
responders <- data.frame(
  id = sprintf("R%02d", 1:14),
  emd = c(FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, FALSE),
  first = c(28, 21, 28, 56, 21, 28, 84, 21, 28, 56, 21, 28, 63, 21),
  pfs_days = c(28, 120, 200, 155, 400, 330, 183, 90, 88, 300, 150, 97, 63, 250),
  pfs_event = c(TRUE, TRUE, FALSE, TRUE, TRUE, FALSE, TRUE, TRUE, TRUE, FALSE, TRUE, TRUE, FALSE, TRUE)
)
responders$dor <- responders$pfs_days - responders$first

show_fit <- function(label, fit) {
  cat("##", label, "\n")
  print(summary(fit)$table[, c("records", "events", "median", "0.95LCL", "0.95UCL"), drop = FALSE])
  s <- summary(fit, censored = FALSE)
  print(data.frame(strata = if (is.null(s$strata)) "all" else s$strata, time = s$time,
                   n.risk = s$n.risk, n.event = s$n.event, surv = s$surv,
                   lower = s$lower, upper = s$upper))
}

for (ct in c("log", "log-log")) {
  overall <- survfit(Surv(dor, pfs_event) ~ 1, data = responders, conf.type = ct)
  cat("## overall, conf.type =", ct, "\n")
  print(summary(overall)$table[c("records", "events", "median", "0.95LCL", "0.95UCL")])
  s <- summary(overall, censored = FALSE)
  print(data.frame(time = s$time, n.risk = s$n.risk, n.event = s$n.event, surv = s$surv,
                   lower = s$lower, upper = s$upper))
  show_fit(paste("by emd, conf.type =", ct),
           survfit(Surv(dor, pfs_event) ~ emd, data = responders, conf.type = ct))
}

# --- exact binomial confidence intervals (Clopper-Pearson) ---------------------------------------
# MRD-negativity counts of tests/analyses/test_mrd.py: (negative patients, denominator).
counts <- list(c(7, 20), c(4, 20), c(6, 9), c(4, 9), c(2, 20), c(1, 20), c(0, 9), c(9, 9))
for (k in counts) {
  ci <- binom.test(k[1], k[2])$conf.int
  cat(sprintf("binom.test(%d, %d): %.15f %.15f\n", k[1], k[2], ci[1], ci[2]))
}
