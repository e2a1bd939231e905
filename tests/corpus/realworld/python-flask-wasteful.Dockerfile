FROM python:3.11

MAINTAINER Dev Team <dev@example.com>

RUN apt-get update
RUN apt-get install -y build-essential libpq-dev git curl vim
RUN pip install --upgrade pip

WORKDIR /app
COPY . /app
RUN pip install -r requirements.txt
RUN rm -rf /var/lib/apt/lists/*

ENV FLASK_APP=app.py
ENV FLASK_ENV=production
EXPOSE 5000
CMD flask run --host=0.0.0.0
