FROM openjdk:17
COPY . /usr/src/myapp
WORKDIR /usr/src/myapp
RUN ./gradlew build
RUN cp build/libs/*.jar app.jar
RUN rm -rf ~/.gradle
EXPOSE 8080
CMD ["java", "-jar", "app.jar"]
