# A small JSON writer for the R reference scripts (jsonlite may be absent): numbers at full
# precision (%.17g), infinities as strings, NA as null. Sourced by make_reference.R in
# tests/reference/survival and tests/analyses/reference.

json_num <- function(x) {
  vapply(x, function(v) {
    if (is.na(v)) "null"
    else if (is.infinite(v)) if (v > 0) "\"Inf\"" else "\"-Inf\""
    else sprintf("%.17g", v)
  }, character(1))
}
json_str <- function(x) paste0("\"", gsub("\"", "\\\\\"", x), "\"")
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    items <- vapply(x, to_json, character(1))
    if (!is.null(names(x))) {
      return(paste0("{", paste0(json_str(names(x)), ": ", items, collapse = ", "), "}"))
    }
    return(paste0("[", paste(items, collapse = ", "), "]"))
  }
  if (is.character(x) || is.factor(x)) return(paste0("[", paste(json_str(as.character(x)), collapse = ", "), "]"))
  if (is.logical(x)) return(paste0("[", paste(ifelse(is.na(x), "null", ifelse(x, "true", "false")), collapse = ", "), "]"))
  paste0("[", paste(json_num(as.numeric(x)), collapse = ", "), "]")
}
