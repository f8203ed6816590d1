# Reference values for the survival extensions of bsab_explorer.analyses: follow_up,
# number_at_risk, landmarks, rmst, logrank, cox_model, proportional_hazards, competing_risks
# and forest. Computed with R's survival and cmprsk packages (Debian r-cran-survival,
# r-cran-cmprsk).
#
# Run from this folder:   Rscript make_reference.R
# Writes the input data (cohort.csv, constructed.csv, separated.csv, lung.csv) and
# reference.json. cohort.csv is a snapshot of data/debulking/patients.csv (no identifiers) at
# the time of the run; constructed.csv has heavy ties, censorings at event times, a group of 6
# and two strata; separated.csv makes a Cox coefficient infinite. The tests read these files and
# never need R.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

source("../../reference/json_writer.R")  # to_json, json_num, json_str
unname_all <- function(x) { x <- unname(x); attributes(x) <- NULL; x }

# --- data ------------------------------------------------------------------------------------------
bundled <- read.csv("../../../data/debulking/patients.csv", stringsAsFactors = FALSE, na.strings = "")
as_flag <- function(x) ifelse(is.na(x), NA, tolower(as.character(x)) == "true")
cohort <- data.frame(
  pfs_days = bundled$pfs_days, pfs_event = as_flag(bundled$pfs_event),
  os_days = bundled$os_days, os_event = as_flag(bundled$os_event),
  emd = as_flag(bundled$emd), hrca = as_flag(bundled$hrca), sex = bundled$sex,
  age_years = bundled$age_years, iss_stage = bundled$iss_stage,
  prior_lines = bundled$prior_lines, best_response = bundled$best_response
)
write.csv(cohort, "cohort.csv", row.names = FALSE, na = "")

i <- seq_len(60)
constructed <- data.frame(
  time = (i * 7) %% 23 + 1,                      # 23 distinct times: heavy ties
  event = (i %% 4) != 0,                         # censorings at event times
  grp = ifelse(i %% 10 == 0, "c", ifelse(i %% 2 == 0, "a", "b")),  # c: 6 patients
  stratum = ifelse(i <= 30, "s1", "s2"),
  x1 = round(sin(i) * 10, 1),
  x2 = (i %% 3) == 0
)
constructed$cause <- ifelse(!constructed$event, 0L, ifelse(i %% 3 == 0, 2L, 1L))
# Group c has no death without progression: an empty cell for Gray's test of that event.
constructed$cause_empty <- ifelse(constructed$cause == 2L & constructed$grp == "c", 1L, constructed$cause)
write.csv(constructed, "constructed.csv", row.names = FALSE)

separated <- data.frame(  # group b is at risk at every death and never dies: coefficient -> -Inf
  time = c(1, 2, 3, 4, 5, 6, 2.5, 4.5, 6.5, 7, 8, 9),
  event = c(TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE),
  grp = c(rep("a", 6), rep("b", 6))
)
write.csv(separated, "separated.csv", row.names = FALSE)

lung_data <- na.omit(survival::lung[, c("time", "status", "age", "sex", "ph.ecog")])
lung_data$event <- lung_data$status == 2
lung_data$status <- NULL
write.csv(lung_data, "lung.csv", row.names = FALSE)

out <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  cmprsk_version = as.character(packageVersion("cmprsk"))
)

# --- follow-up: reverse Kaplan-Meier ---------------------------------------------------------------
follow_up <- list()
for (spec in list(list("cohort_os", cohort$os_days, cohort$os_event),
                  list("cohort_pfs", cohort$pfs_days, cohort$pfs_event),
                  list("lung", lung_data$time, lung_data$event),
                  list("constructed", constructed$time, constructed$event))) {
  for (ct in c("log", "log-log", "plain")) for (cl in c(0.9, 0.95, 0.99)) {
    fit <- survfit(Surv(spec[[2]], !spec[[3]]) ~ 1, conf.type = ct, conf.int = cl)
    tab <- summary(fit)$table
    follow_up[[paste(spec[[1]], ct, cl)]] <- list(
      n = tab[["records"]], censored = tab[["events"]], median = tab[["median"]],
      lower = tab[[paste0(cl, "LCL")]], upper = tab[[paste0(cl, "UCL")]]
    )
  }
}
out$follow_up <- follow_up

# --- number at risk: summary(fit, times =, extend = TRUE) -------------------------------------------
risk_table <- function(fit, times) {
  s <- summary(fit, times = times, extend = TRUE)
  strata <- if (is.null(s$strata)) rep("all", length(s$time)) else as.character(s$strata)
  res <- list()
  for (g in unique(strata)) {
    k <- strata == g
    res[[sub(".*=", "", g)]] <- list(time = s$time[k], n_risk = s$n.risk[k],
      cum_events = cumsum(s$n.event[k]), cum_censored = cumsum(s$n.censor[k]))
  }
  res
}
cohort_times <- c(0, 91, 182, 274, 365, 548, 730, 1000)
out$number_at_risk <- list(
  cohort_pfs_emd = risk_table(survfit(Surv(pfs_days, pfs_event) ~ emd, data = cohort), cohort_times),
  cohort_os_all = risk_table(survfit(Surv(os_days, os_event) ~ 1, data = cohort), cohort_times),
  constructed_grp = risk_table(survfit(Surv(time, event) ~ grp, data = constructed),
                               c(0, 1, 5, 5.5, 12, 23, 24, 30)),
  lung_sex = risk_table(survfit(Surv(time, event) ~ sex, data = lung_data), c(0, 100, 365, 730, 1100))
)

# --- landmarks: summary(fit, times =) and the Wald difference of two groups ------------------------
landmark <- function(fit, times, level) {
  s <- summary(fit, times = times, extend = FALSE)
  strata <- if (is.null(s$strata)) rep("all", length(s$time)) else sub(".*=", "", as.character(s$strata))
  res <- list()
  for (g in unique(strata)) {
    k <- strata == g
    res[[g]] <- list(time = s$time[k], n_risk = s$n.risk[k], surv = s$surv[k],
                     std_err = s$std.err[k], lower = s$lower[k], upper = s$upper[k])
  }
  res
}
landmark_difference <- function(est, a, b, level) {
  times <- intersect(est[[a]]$time, est[[b]]$time)
  ia <- match(times, est[[a]]$time); ib <- match(times, est[[b]]$time)
  d <- est[[a]]$surv[ia] - est[[b]]$surv[ib]
  se <- sqrt(est[[a]]$std_err[ia]^2 + est[[b]]$std_err[ib]^2)
  z <- qnorm(1 - (1 - level) / 2)
  list(time = times, difference = d, std_err = se, lower = d - z * se, upper = d + z * se,
       p = 2 * pnorm(-abs(d / se)))
}
landmarks <- list()
for (cl in c(0.9, 0.95, 0.99)) for (ct in c("log", "log-log", "plain")) {
  f1 <- survfit(Surv(pfs_days, pfs_event) ~ emd, data = cohort, conf.type = ct, conf.int = cl)
  e1 <- landmark(f1, c(91, 182, 365, 730), cl)
  f2 <- survfit(Surv(time, event) ~ sex, data = lung_data, conf.type = ct, conf.int = cl)
  e2 <- landmark(f2, c(90, 180, 365, 500, 800), cl)
  landmarks[[paste("cohort_pfs_emd", ct, cl)]] <- list(estimates = e1,
    difference = landmark_difference(e1, "TRUE", "FALSE", cl))
  landmarks[[paste("lung_sex", ct, cl)]] <- list(estimates = e2,
    difference = landmark_difference(e2, "1", "2", cl))
}
out$landmarks <- landmarks

# --- RMST: print(fit, rmean = tau) and the difference of two groups --------------------------------
rmst <- function(fit, tau, a, b, level) {
  tab <- summary(fit, rmean = tau)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  groups <- if (is.null(rownames(tab))) "all" else sub(".*=", "", rownames(tab))
  z <- qnorm(1 - (1 - level) / 2)
  res <- list(groups = groups, n = tab[, "records"], events = tab[, "events"],
              rmean = tab[, "rmean"], se = tab[, "se(rmean)"])
  if (!is.null(a)) {
    ia <- match(a, groups); ib <- match(b, groups)
    d <- tab[ia, "rmean"] - tab[ib, "rmean"]
    se <- sqrt(tab[ia, "se(rmean)"]^2 + tab[ib, "se(rmean)"]^2)
    res$difference <- list(difference = d, std_err = se, lower = d - z * se, upper = d + z * se,
                           p = 2 * pnorm(-abs(d / se)), z = z)
  }
  res
}
out$rmst <- list(
  cohort_pfs_emd_365 = rmst(survfit(Surv(pfs_days, pfs_event) ~ emd, data = cohort), 365, "TRUE", "FALSE", 0.95),
  cohort_os_emd_730 = rmst(survfit(Surv(os_days, os_event) ~ emd, data = cohort), 730, "TRUE", "FALSE", 0.9),
  constructed_grp_10 = rmst(survfit(Surv(time, event) ~ grp, data = constructed), 10, "a", "c", 0.99),
  constructed_grp_23 = rmst(survfit(Surv(time, event) ~ grp, data = constructed), 23, "a", "b", 0.95),
  lung_sex_365 = rmst(survfit(Surv(time, event) ~ sex, data = lung_data), 365, "1", "2", 0.95),
  lung_sex_1000 = rmst(survfit(Surv(time, event) ~ sex, data = lung_data), 1000, "1", "2", 0.95)
)

# --- log-rank: survdiff(rho =) with and without strata ---------------------------------------------
logrank <- function(formula, data, rho) {
  d <- survdiff(formula, data = data, rho = rho)
  obs <- if (is.matrix(d$obs)) rowSums(d$obs) else d$obs
  exp <- if (is.matrix(d$exp)) rowSums(d$exp) else d$exp
  df <- sum(exp > 0) - 1
  list(groups = sub(".*=", "", names(d$n)), observed = obs, expected = exp,
       variance = as.vector(d$var), chisq = d$chisq, df = df, p = pchisq(d$chisq, df, lower.tail = FALSE))
}
logranks <- list()
for (rho in c(0, 1)) {
  logranks[[paste("cohort_pfs_emd", rho)]] <- logrank(Surv(pfs_days, pfs_event) ~ emd, cohort, rho)
  logranks[[paste("cohort_os_iss", rho)]] <- logrank(Surv(os_days, os_event) ~ iss_stage, cohort, rho)
  logranks[[paste("cohort_pfs_emd_strata_sex", rho)]] <- logrank(Surv(pfs_days, pfs_event) ~ emd + strata(sex), cohort, rho)
  logranks[[paste("constructed_grp", rho)]] <- logrank(Surv(time, event) ~ grp, constructed, rho)
  logranks[[paste("constructed_grp_strata", rho)]] <- logrank(Surv(time, event) ~ grp + strata(stratum), constructed, rho)
  logranks[[paste("lung_ecog_strata_sex", rho)]] <- logrank(Surv(time, event) ~ ph.ecog + strata(sex), lung_data, rho)
}
out$logrank <- logranks

# --- Cox models: coxph(ties =) with coefficients, global tests, concordance -------------------------
lung_factor <- lung_data
lung_factor$ph.ecog <- factor(lung_factor$ph.ecog)
cox_reference <- function(formula, data, ties, iter_max = 20) {
  notes <- character(0)
  fit <- withCallingHandlers(
    coxph(formula, data = data, ties = ties, control = coxph.control(iter.max = iter_max)),
    warning = function(w) { notes <<- c(notes, conditionMessage(w)); invokeRestart("muffleWarning") }
  )
  p <- length(fit$coefficients)
  res <- list(terms = names(fit$coefficients), coef = unname_all(fit$coefficients),
    se = sqrt(diag(fit$var)), loglik = fit$loglik, iter = fit$iter,
    score = fit$score, wald = unname_all(fit$wald.test),
    lr = 2 * (fit$loglik[2] - fit$loglik[1]), df = p,
    concordance = unname_all(fit$concordance["concordance"]),
    n = fit$n, nevent = fit$nevent, warnings = if (length(notes)) notes else list())
  res$z <- res$coef / res$se
  res$p <- 2 * pnorm(-abs(res$z))
  for (cl in c(0.9, 0.95, 0.99)) {
    ci <- summary(fit, conf.int = cl)$conf.int
    res[[paste0("lower_", cl)]] <- unname_all(ci[, 3])
    res[[paste0("upper_", cl)]] <- unname_all(ci[, 4])
  }
  res
}
out$cox <- list(
  lung_efron = cox_reference(Surv(time, event) ~ age + sex + ph.ecog, lung_data, "efron"),
  lung_breslow = cox_reference(Surv(time, event) ~ age + sex + ph.ecog, lung_data, "breslow"),
  lung_factor_strata_efron = cox_reference(Surv(time, event) ~ age + ph.ecog + strata(sex), lung_factor, "efron"),
  lung_factor_strata_breslow = cox_reference(Surv(time, event) ~ age + ph.ecog + strata(sex), lung_factor, "breslow"),
  constructed_efron = cox_reference(Surv(time, event) ~ grp + x1 + x2, constructed, "efron"),
  constructed_breslow = cox_reference(Surv(time, event) ~ grp + x1 + x2, constructed, "breslow"),
  constructed_strata_efron = cox_reference(Surv(time, event) ~ grp + x1 + strata(stratum), constructed, "efron"),
  cohort_os_efron = cox_reference(Surv(os_days, os_event) ~ emd + age_years + iss_stage, cohort, "efron"),
  separated_efron = cox_reference(Surv(time, event) ~ grp, separated, "efron"),
  separated_breslow = cox_reference(Surv(time, event) ~ grp, separated, "breslow"),
  lung_iter2_efron = cox_reference(Surv(time, event) ~ age + sex + ph.ecog, lung_data, "efron", 2)
)

# --- proportional hazards: cox.zph(fit) (transform = "km", terms = TRUE) ----------------------------
zph <- function(formula, data, ties) {
  z <- cox.zph(coxph(formula, data = data, ties = ties, x = TRUE, y = TRUE, model = TRUE))
  list(terms = rownames(z$table), chisq = unname_all(z$table[, "chisq"]),
       df = unname_all(z$table[, "df"]), p = unname_all(z$table[, "p"]))
}
out$zph <- list(
  lung_efron = zph(Surv(time, event) ~ age + sex + ph.ecog, lung_data, "efron"),
  lung_breslow = zph(Surv(time, event) ~ age + sex + ph.ecog, lung_data, "breslow"),
  lung_factor_strata_efron = zph(Surv(time, event) ~ age + ph.ecog + strata(sex), lung_factor, "efron"),
  constructed_efron = zph(Surv(time, event) ~ grp + x1 + x2, constructed, "efron"),
  constructed_breslow = zph(Surv(time, event) ~ grp + x1 + x2, constructed, "breslow"),
  constructed_strata_efron = zph(Surv(time, event) ~ grp + x1 + strata(stratum), constructed, "efron"),
  cohort_os_efron = zph(Surv(os_days, os_event) ~ emd + age_years + iss_stage, cohort, "efron")
)

# --- competing risks: cmprsk::cuminc and timepoints -------------------------------------------------
# Progression (1) or death without progression (2, a PFS event on the day of death) at the PFS time.
cohort_cr <- cohort[!is.na(cohort$pfs_days) & !is.na(cohort$pfs_event), ]
cohort_cr$status <- ifelse(!cohort_cr$pfs_event, 0L,
  ifelse(!is.na(cohort_cr$os_event) & cohort_cr$os_event & cohort_cr$os_days == cohort_cr$pfs_days, 2L, 1L))
k <- seq_len(150)
competing <- data.frame(
  time = (k * 37) %% 101 + 1,
  status = c(0L, 1L, 1L, 2L, 0L)[(k * 7) %% 5 + 1],
  grp = c("x", "y", "z")[(k * 11) %% 3 + 1],
  stratum = ifelse(k %% 2 == 0, "u", "v")
)
write.csv(competing, "competing.csv", row.names = FALSE)
incidence <- function(time, status, group, times, strata = NULL, rho = 0) {
  fit <- if (is.null(group)) cuminc(time, status)
         else if (is.null(strata)) cuminc(time, status, group, rho = rho)
         else cuminc(time, status, group, strata, rho = rho)
  tp <- timepoints(fit, times)
  curves <- list()
  for (name in rownames(tp$est)) {
    est <- unname(tp$est[name, ]); v <- unname(tp$var[name, ])
    ci <- list()
    for (cl in c(0.9, 0.95)) {
      z <- qnorm(1 - (1 - cl) / 2)
      spread <- z * sqrt(v) / (est * log(est))
      ok <- !is.na(est) & est > 0 & est < 1
      ci[[paste0("lower_", cl)]] <- ifelse(ok, est^exp(-spread), NA)
      ci[[paste0("upper_", cl)]] <- ifelse(ok, est^exp(spread), NA)
    }
    curves[[name]] <- c(list(time = fit[[name]]$time, est = fit[[name]]$est, var = fit[[name]]$var,
                             times = times, at_est = est, at_var = v), ci)
  }
  res <- list(curves = curves)
  if (!is.null(fit$Tests)) {
    res$tests <- list(cause = rownames(fit$Tests), stat = unname_all(fit$Tests[, "stat"]),
                      p = unname_all(fit$Tests[, "pv"]), df = unname_all(fit$Tests[, "df"]))
  }
  res
}
out$cuminc <- list(
  cohort_emd = with(cohort_cr, incidence(pfs_days, status, emd, c(0, 91, 182, 365, 730, 1000, 5000))),
  cohort_all = with(cohort_cr, incidence(pfs_days, status, NULL, c(0, 91, 182, 365, 730, 1000, 5000))),
  constructed_grp = with(constructed, incidence(time, cause, grp, c(0.5, 1, 5, 12, 22.5, 23, 24))),
  constructed_grp_strata = with(constructed, incidence(time, cause, grp, c(1, 12, 23), stratum)),
  constructed_empty = with(constructed, incidence(time, cause_empty, grp, c(1, 12, 23))),
  competing_grp = with(competing, incidence(time, status, grp, c(1, 10, 50, 100, 101, 102))),
  competing_grp_strata = with(competing, incidence(time, status, grp, c(10, 50), stratum)),
  competing_grp_rho1 = with(competing, incidence(time, status, grp, c(10, 50), rho = 1)),
  cohort_emd_strata_sex_rho1 = with(cohort_cr[!is.na(cohort_cr$sex), ],
    incidence(pfs_days, status, emd, c(182, 365), sex, rho = 1))
)

# The same Aalen-Johansen estimate from survival's multi-state survfit (pstate of states 1, 2).
multistate <- function(data, times) {
  fit <- survfit(Surv(time, factor(status, 0:2)) ~ grp, data = data)
  s <- summary(fit, times = times, extend = TRUE)
  res <- list()
  for (g in unique(as.character(s$strata))) {
    k <- as.character(s$strata) == g
    res[[sub(".*=", "", g)]] <- list(time = s$time[k], progression = s$pstate[k, 2], death = s$pstate[k, 3])
  }
  res
}
out$multistate <- list(competing_grp = multistate(competing, c(1, 10, 50, 100)),
                       constructed_grp = multistate(transform(constructed, status = cause), c(1, 5, 12, 22)))

# --- forest: coxph per subgroup level, interaction by likelihood ratio; binom.test per level --------
quiet_cox <- function(formula, data) {
  notes <- character(0)
  fit <- withCallingHandlers(coxph(formula, data = data),
    warning = function(w) { notes <<- c(notes, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(fit = fit, notes = notes)
}
forest <- function(data, time, event, by, subgroups) {
  data <- data[!is.na(data[[time]]) & !is.na(data[[event]]) & !is.na(data[[by]]), ]
  f_by <- as.formula(paste0("Surv(", time, ", ", event, ") ~ ", by))
  hr <- function(d) {
    q <- quiet_cox(f_by, d)
    ci <- summary(q$fit)$conf.int
    list(n = nrow(d), events = sum(d[[event]]), coef = unname_all(coef(q$fit)),
         hr = unname_all(ci[, 1]), lower = unname_all(ci[, 3]), upper = unname_all(ci[, 4]),
         p = unname_all(summary(q$fit)$coefficients[, 5]),
         warnings = if (length(q$notes)) q$notes else list())
  }
  res <- list(overall = hr(data), subgroups = list())
  for (sub in subgroups) {
    d <- data[!is.na(data[[sub]]), ]
    levels_ <- sort(unique(d[[sub]]))
    rows <- list()
    for (lv in levels_) {
      dl <- d[d[[sub]] == lv, ]
      if (length(unique(dl[[by]])) < 2 || sum(dl[[event]]) == 0) next
      rows[[as.character(lv)]] <- hr(dl)
    }
    main <- quiet_cox(as.formula(paste0("Surv(", time, ", ", event, ") ~ ", by, " + ", sub)), d)
    full <- quiet_cox(as.formula(paste0("Surv(", time, ", ", event, ") ~ ", by, " * ", sub)), d)
    df <- sum(!is.na(coef(full$fit))) - sum(!is.na(coef(main$fit)))
    lr <- 2 * (full$fit$loglik[2] - main$fit$loglik[2])
    res$subgroups[[sub]] <- list(levels = rows, interaction_lr = lr, interaction_df = df,
      interaction_p = pchisq(lr, df, lower.tail = FALSE), full_coef = unname_all(coef(full$fit)))
  }
  res
}
out$forest <- list(
  cohort_pfs_emd = forest(cohort, "pfs_days", "pfs_event", "emd", c("sex", "iss_stage", "hrca")),
  constructed_x2 = forest(constructed, "time", "event", "x2", c("grp", "stratum")),
  lung_sex = forest(transform(lung_data, ecog = factor(ph.ecog), old = age >= 65), "time", "event", "sex", c("ecog", "old"))
)
binom <- function(x, n, level) {
  b <- binom.test(x, n, conf.level = level)
  list(x = x, n = n, level = level, estimate = unname_all(b$estimate), lower = b$conf.int[1], upper = b$conf.int[2])
}
responders <- cohort[!is.na(cohort$best_response), ]
responders$orr <- responders$best_response %in% c("sCR", "CR", "VGPR", "PR")
responders$vgpr <- responders$best_response %in% c("sCR", "CR", "VGPR")
response_forest <- list()
for (sub in c("sex", "iss_stage", "emd")) for (outcome in c("orr", "vgpr")) for (cl in c(0.9, 0.95, 0.99)) {
  d <- responders[!is.na(responders[[sub]]), ]
  for (lv in sort(unique(d[[sub]]))) {
    dl <- d[d[[sub]] == lv, ]
    response_forest[[paste(sub, lv, outcome, cl)]] <- binom(sum(dl[[outcome]]), nrow(dl), cl)
  }
}
for (cl in c(0.9, 0.95, 0.99)) for (outcome in c("orr", "vgpr")) {
  response_forest[[paste("overall", outcome, cl)]] <- binom(sum(responders[[outcome]]), nrow(responders), cl)
}
response_forest[["edge 0 of 7"]] <- binom(0, 7, 0.95)
response_forest[["edge 7 of 7"]] <- binom(7, 7, 0.95)
out$forest_response <- response_forest

writeLines(to_json(out), "reference.json")
