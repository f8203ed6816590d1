# survfit (log CI) medians, survdiff and coxph(ties = "efron") on one filtered cohort.
# Usage: Rscript bench/survival.R rows.csv I,II,III   (columns time, event, group)
# Prints lines: "median <group> <median> <lower> <upper>", "logrank <chi2> <p>",
# "cox <group> <hr> <se>", "compute_ms <ms>" (the survival package's time, not reading).
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
rows <- read.csv(args[1], colClasses = c("numeric", "integer", "character"))
levels <- strsplit(args[2], ",")[[1]]
rows$group <- factor(rows$group, levels = levels[levels %in% unique(rows$group)])
g <- function(x) if (is.na(x)) "NA" else sprintf("%.17g", x)
started <- proc.time()[["elapsed"]]
fit <- survfit(Surv(time, event) ~ group, data = rows, conf.type = "log")
test <- survdiff(Surv(time, event) ~ group, data = rows)
cox <- coxph(Surv(time, event) ~ group, data = rows, ties = "efron")
elapsed <- proc.time()[["elapsed"]] - started
table <- summary(fit)$table
for (i in seq_len(nrow(table))) {
  name <- sub("^group=", "", rownames(table)[i])
  cat("median", name, g(table[i, "median"]), g(table[i, "0.95LCL"]), g(table[i, "0.95UCL"]), "\n")
}
df <- length(test$n) - 1
cat("logrank", g(test$chisq), g(pchisq(test$chisq, df, lower.tail = FALSE)), "\n")
coefs <- summary(cox)$coefficients
for (i in seq_len(nrow(coefs))) {
  cat("cox", sub("^group", "", rownames(coefs)[i]), g(coefs[i, "exp(coef)"]), g(coefs[i, "se(coef)"]), "\n")
}
cat("compute_ms", g(1000 * elapsed), "\n")
