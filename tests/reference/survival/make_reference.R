# Reference values for bsab_explorer.analyses.survival, computed with R's survival package.
#
# Run from this folder:   Rscript make_reference.R
# Writes the input data (<dataset>.csv: time, event, group columns) and reference.json;
# cohort_pfs/cohort_os are a snapshot of data/debulking/patients.csv at the time of the run.
# The test suite reads those files and never needs R.
#
# For every dataset, grouping and conf.type in (log, log-log, plain) it records
#   survfit():                 time, n.risk, n.event, n.censor, surv, std.err, lower, upper
#   print.survfit():           median and its CI (summary(fit)$table, i.e. survmean)
#   quantile.survfit():        median and its CI (the other R convention, kept for comparison)
#   summary(fit, times = ...): surv, std.err (of surv), lower, upper, n.risk at landmark times
# and, for groupings with 2+ levels, survdiff() and coxph(ties = "efron").
# Groups are factor(<column>), so levels sort as R sorts them; missing groups are dropped (na.omit).

suppressPackageStartupMessages(library(survival))

source("../json_writer.R")  # to_json, json_num, json_str

# --- datasets -------------------------------------------------------------------------------------
# Each: a data frame with time, event (logical) and grouping columns; landmark times in its unit.
flat_half <- data.frame(  # surv is exactly 0.5 on [3, 4): the median is the midpoint 3.5
  time = c(1, 2, 3, 4, 5, 6),
  event = c(TRUE, TRUE, TRUE, TRUE, TRUE, TRUE)
)
ends_half <- data.frame(  # surv reaches 0.5 at 2 and stays there to the last (censored) time
  time = c(1, 2, 3, 4),
  event = c(TRUE, TRUE, FALSE, FALSE)
)
# A snapshot of the bundled (reconstructed) cohort: PFS and OS by EMD, HRCA and sex.
bundled <- read.csv("../../../data/debulking/patients.csv", stringsAsFactors = FALSE)
as_flag <- function(x) tolower(as.character(x)) == "true"
cohort <- function(endpoint) {
  d <- data.frame(
    time = bundled[[paste0(endpoint, "_days")]],
    event = as_flag(bundled[[paste0(endpoint, "_event")]]),
    emd = as_flag(bundled$emd), hrca = as_flag(bundled$hrca), sex = bundled$sex
  )
  d$sex[d$sex == ""] <- NA
  d
}
cohort_times <- c(6, 12, 24) * 30.4375

# Heavy ties (about 48 deaths per time) for the closed-form Efron sums.
i <- seq_len(3000)
ties <- data.frame(
  time = (i * 37) %% 50 + 1, event = (i %% 5) != 0, grp = c("a", "b", "c")[(i * 11) %% 7 %% 3 + 1]
)

zero_time <- data.frame(  # an event and a censoring at time 0 (survfit0 inserts no row)
  time = c(0, 0, 1, 2, 2, 3, 5),
  event = c(TRUE, FALSE, TRUE, TRUE, FALSE, TRUE, FALSE)
)

datasets <- list(
  zero_time = list(data = zero_time, groups = character(0), times = c(0, 1.5, 5, 6)),
  ties = list(data = ties, groups = c("grp"), times = c(10, 25, 49)),
  cohort_pfs = list(data = cohort("pfs"), groups = c("emd", "hrca", "sex"), times = cohort_times),
  cohort_os = list(data = cohort("os"), groups = c("emd", "hrca", "sex"), times = cohort_times),
  lung = list(
    data = data.frame(time = lung$time, event = lung$status == 2, sex = lung$sex, ph_ecog = lung$ph.ecog),
    groups = c("sex", "ph_ecog"),
    times = c(6, 12, 24) * 30.4375
  ),
  veteran = list(
    data = data.frame(time = veteran$time, event = veteran$status == 1, trt = veteran$trt,
                      celltype = as.character(veteran$celltype)),
    groups = c("trt", "celltype"),
    times = c(1, 6, 12, 24) * 30.4375
  ),
  aml = list(
    data = data.frame(time = aml$time, event = aml$status == 1, x = as.character(aml$x)),
    groups = c("x"),
    times = c(5, 12, 26, 52, 200)
  ),
  ovarian = list(
    data = data.frame(time = ovarian$futime, event = ovarian$fustat == 1, rx = ovarian$rx),
    groups = c("rx"),
    times = c(6, 12, 24) * 30.4375
  ),
  flat_half = list(data = flat_half, groups = character(0), times = c(0.5, 3, 3.5, 6, 7)),
  ends_half = list(data = ends_half, groups = character(0), times = c(2, 4))
)

# --- one survfit, unpacked per stratum -------------------------------------------------------------
strata_index <- function(fit) {
  if (is.null(fit$strata)) return(list(all = seq_along(fit$time)))
  ends <- cumsum(fit$strata)
  starts <- ends - fit$strata + 1
  out <- lapply(seq_along(ends), function(i) seq(starts[i], length.out = fit$strata[i]))
  names(out) <- sub("^[^=]*=", "", names(fit$strata))
  out
}

curves <- function(fit) {
  idx <- strata_index(fit)
  lapply(idx, function(i) list(
    time = fit$time[i], n_risk = fit$n.risk[i], n_event = fit$n.event[i],
    n_censor = fit$n.censor[i], surv = fit$surv[i], std_err = fit$std.err[i],
    lower = fit$lower[i], upper = fit$upper[i]
  ))
}

medians <- function(fit) {
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list("all", names(tab)))
  q <- quantile(fit, probs = 0.5)
  qm <- as.numeric(q$quantile); ql <- as.numeric(q$lower); qu <- as.numeric(q$upper)
  out <- lapply(seq_len(nrow(tab)), function(k) list(
    n = tab[k, "records"], events = tab[k, "events"],
    median = tab[k, "median"],
    lower = tab[k, paste0(fit$conf.int, "LCL")], upper = tab[k, paste0(fit$conf.int, "UCL")],
    quantile_median = qm[k], quantile_lower = ql[k], quantile_upper = qu[k]
  ))
  names(out) <- names(strata_index(fit))
  out
}

landmarks <- function(fit, times) {
  # One stratum at a time: summary() refuses a curve with no time <= max follow-up.
  idx <- strata_index(fit)
  out <- lapply(seq_along(idx), function(k) {
    one <- if (is.null(fit$strata)) fit else fit[k]
    s <- tryCatch(summary(one, times = times), error = function(e) NULL)
    if (is.null(s)) return(list(time = numeric(0), n_risk = numeric(0), surv = numeric(0),
                                std_err = numeric(0), lower = numeric(0), upper = numeric(0)))
    list(time = s$time, n_risk = s$n.risk, surv = s$surv, std_err = s$std.err,
         lower = s$lower, upper = s$upper)
  })
  names(out) <- names(idx)
  out
}

tests_for <- function(d, g) {
  d$grp <- factor(d[[g]])
  sd <- survdiff(Surv(time, event) ~ grp, data = d)
  cx <- coxph(Surv(time, event) ~ grp, data = d, ties = "efron")
  sm <- summary(cx)
  list(
    levels = levels(d$grp),
    logrank = list(
      chi2 = sd$chisq, df = sum(sd$exp > 0) - 1,
      p_value = pchisq(sd$chisq, sum(sd$exp > 0) - 1, lower.tail = FALSE),
      observed = as.numeric(sd$obs), expected = as.numeric(sd$exp)
    ),
    cox = list(
      coef = unname(coef(cx)), se = unname(sqrt(diag(vcov(cx)))),
      hr = unname(sm$conf.int[, "exp(coef)"]),
      lower = unname(sm$conf.int[, "lower .95"]), upper = unname(sm$conf.int[, "upper .95"]),
      z = unname(sm$coefficients[, "z"]), p_value = unname(sm$coefficients[, "Pr(>|z|)"]),
      loglik = cx$loglik, iterations = cx$iter,
      # summary.coxph rounds the Wald statistic for printing; take it unrounded from the fit.
      wald = list(chi2 = unname(cx$wald.test), df = unname(sm$waldtest["df"]),
                  p_value = unname(sm$waldtest["pvalue"])),
      score = list(chi2 = unname(sm$sctest["test"]), df = unname(sm$sctest["df"]),
                   p_value = unname(sm$sctest["pvalue"])),
      lr = list(chi2 = unname(sm$logtest["test"]), df = unname(sm$logtest["df"]),
                p_value = unname(sm$logtest["pvalue"]))
    )
  )
}

conf_types <- c("log", "log-log", "plain")
reference <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  datasets = list()
)
for (name in names(datasets)) {
  spec <- datasets[[name]]
  d <- spec$data
  out_csv <- d
  for (col in names(out_csv)) if (is.logical(out_csv[[col]])) out_csv[[col]] <- tolower(out_csv[[col]])
  write.csv(out_csv, paste0(name, ".csv"), row.names = FALSE, na = "")
  out <- list(landmark_times = spec$times, groupings = list())
  for (g in c("", spec$groups)) {
    if (g == "") {
      f <- function(ct) survfit(Surv(time, event) ~ 1, data = d, conf.type = ct)
    } else {
      dg <- d
      dg$grp <- factor(dg[[g]])
      f <- function(ct) survfit(Surv(time, event) ~ grp, data = dg, conf.type = ct)
    }
    by_ci <- list()
    for (ct in conf_types) {
      fit <- f(ct)
      by_ci[[ct]] <- list(curves = curves(fit), medians = medians(fit),
                          landmarks = landmarks(fit, spec$times))
    }
    key <- if (g == "") "overall" else g
    entry <- list(ci = by_ci)
    if (g != "") entry <- c(entry, tests_for(d, g))
    out$groupings[[key]] <- entry
  }
  reference$datasets[[name]] <- out
}
# Another confidence level: 90 % log and log-log intervals for lung.
lung_d <- datasets$lung$data
reference$conf_90 <- lapply(c(log = "log", `log-log` = "log-log"), function(ct) {
  fit <- survfit(Surv(time, event) ~ 1, data = lung_d, conf.type = ct, conf.int = 0.90)
  list(curves = curves(fit), medians = medians(fit))
})
writeLines(to_json(reference), "reference.json")
cat("wrote reference.json and", length(datasets), "CSV files\n")
