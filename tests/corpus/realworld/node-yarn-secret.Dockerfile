FROM node:20-bookworm-slim
WORKDIR /srv
COPY package.json yarn.lock .yarnrc.yml ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=cache,target=/usr/local/share/.cache/yarn \
    yarn install --frozen-lockfile --production
COPY src/ src/
USER node
ENTRYPOINT ["node"]
CMD ["src/index.js"]
