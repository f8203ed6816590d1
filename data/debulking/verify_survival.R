# Reference values for the debulking cohort's survival figures, computed with R's survival package.
# Run from the repository root:  Rscript data/debulking/verify_survival.R > data/debulking/verify_survival.txt
# Prints medians and 95 % CIs (months = days / 30.4375, 4 significant digits) overall, by EMD and
# by HRCA for conf.type "log" (R's default), "log-log" and "plain", the four log-rank p-values and
# the follow-up. The printed output is committed next to this script (verify_survival.txt).
suppressPackageStartupMessages(library(survival))
p <- read.csv("data/debulking/patients.csv", na.strings = "")
p$pfs_m <- p$pfs_days / 30.4375
p$os_m <- p$os_days / 30.4375
p$pfs_event <- p$pfs_event == "true"
p$os_event <- p$os_event == "true"
p$emd <- p$emd == "true"
p$hrca <- ifelse(is.na(p$hrca), NA, p$hrca == "true")
cat("R", R.version$major, R.version$minor, " survival", as.character(packageVersion("survival")), "\n")
show <- function(label, fit) {
  q <- quantile(fit, probs = 0.5, conf.int = TRUE)
  m <- cbind(median = q$quantile, lower = q$lower, upper = q$upper)
  cat(label, "\n")
  print(signif(m, 4))
}
for (conf in c("log", "log-log", "plain")) for (ep in c("pfs", "os")) {
  cat("\n== conf.type", conf, "\n")
  f_all <- as.formula(paste0("Surv(", ep, "_m, ", ep, "_event) ~ 1"))
  f_emd <- as.formula(paste0("Surv(", ep, "_m, ", ep, "_event) ~ emd"))
  f_hrca <- as.formula(paste0("Surv(", ep, "_m, ", ep, "_event) ~ hrca"))
  show(paste(ep, "all"), survfit(f_all, data = p, conf.type = conf))
  show(paste(ep, "by EMD"), survfit(f_emd, data = p, conf.type = conf))
  show(paste(ep, "by HRCA (tested patients)"), survfit(f_hrca, data = p, conf.type = conf))
  d1 <- survdiff(f_emd, data = p)
  d2 <- survdiff(f_hrca, data = p)
  cat(ep, "log-rank p EMD:", format(1 - pchisq(d1$chisq, 1), digits = 6),
      " HRCA:", format(1 - pchisq(d2$chisq, 1), digits = 6), "\n")
}
fu <- p$os_m
cat("follow-up (time to death or last contact), months: median", format(median(fu), digits = 4),
    " range", format(min(fu), digits = 3), "-", format(max(fu), digits = 4), "\n")
rk <- survfit(Surv(os_m, !os_event) ~ 1, data = p)
cat("reverse Kaplan-Meier median follow-up, months:", format(quantile(rk, 0.5)$quantile, digits = 4), "\n")
