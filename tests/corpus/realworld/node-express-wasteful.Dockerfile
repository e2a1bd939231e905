FROM node:18

# Create app directory
WORKDIR /usr/src/app

# Bundle app source
COPY . .

RUN npm install
RUN npm run build
RUN npm cache clean --force

RUN chown -R node:node /usr/src/app
USER node

EXPOSE 8080
CMD [ "node", "server.js" ]
