FROM python:3.12-alpine
RUN apk add --no-cache --virtual .build-deps gcc musl-dev libffi-dev \
 && pip install --no-cache-dir fastapi uvicorn[standard] \
 && apk del .build-deps
COPY ./app /code/app
WORKDIR /code
EXPOSE 80
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "80"]
