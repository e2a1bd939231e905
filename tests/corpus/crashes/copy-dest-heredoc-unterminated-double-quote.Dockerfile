FROM a
COPY x <<"
