FROM a
ONBUILD COPY x <<${a.}
