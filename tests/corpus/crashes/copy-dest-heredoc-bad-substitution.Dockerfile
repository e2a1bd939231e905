FROM a
COPY x <<${a.}
