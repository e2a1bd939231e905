#include <math.h>
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

SEXP C_roll_mean(SEXP x, SEXP k) {
  R_xlen_t n = XLENGTH(x);
  int w = asInteger(k);
  if (w == NA_INTEGER || w < 1 || w > n) error("k must be between 1 and length(x)");
  SEXP out = PROTECT(allocVector(REALSXP, n - w + 1));
  const double *px = REAL(x);
  double *po = REAL(out);
  double sum = 0.0;
  for (int i = 0; i < w; i++) sum += px[i];
  po[0] = sum / w;
  for (R_xlen_t i = w; i < n; i++) {
    sum += px[i] - px[i - w];
    po[i - w + 1] = sum / w;
  }
  UNPROTECT(1);
  return out;
}

SEXP C_ewma(SEXP x, SEXP alpha) {
  R_xlen_t n = XLENGTH(x);
  double a = asReal(alpha);
  if (!(a > 0.0 && a <= 1.0)) error("alpha must be in (0, 1]");
  SEXP out = PROTECT(allocVector(REALSXP, n));
  const double *px = REAL(x);
  double *po = REAL(out);
  for (R_xlen_t i = 0; i < n; i++) po[i] = i == 0 ? px[0] : a * px[i] + (1.0 - a) * po[i - 1];
  UNPROTECT(1);
  return out;
}

SEXP C_describe(SEXP x) {
  R_xlen_t n = XLENGTH(x);
  const double *px = REAL(x);
  double mean = 0.0, m2 = 0.0, lo = R_PosInf, hi = R_NegInf;
  for (R_xlen_t i = 0; i < n; i++) {
    double d = px[i] - mean;
    mean += d / (double)(i + 1);
    m2 += d * (px[i] - mean);
    if (px[i] < lo) lo = px[i];
    if (px[i] > hi) hi = px[i];
  }
  SEXP out = PROTECT(allocVector(REALSXP, 5));
  REAL(out)[0] = (double)n;
  REAL(out)[1] = n ? mean : NA_REAL;
  REAL(out)[2] = n > 1 ? sqrt(m2 / (double)(n - 1)) : NA_REAL;
  REAL(out)[3] = n ? lo : NA_REAL;
  REAL(out)[4] = n ? hi : NA_REAL;
  UNPROTECT(1);
  return out;
}

static const R_CallMethodDef call_methods[] = {
    {"C_roll_mean", (DL_FUNC)&C_roll_mean, 2},
    {"C_ewma", (DL_FUNC)&C_ewma, 2},
    {"C_describe", (DL_FUNC)&C_describe, 1},
    {NULL, NULL, 0}};

void R_init_rollstats(DllInfo *dll) {
  R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
}
