FROM a
ADD x <<'
