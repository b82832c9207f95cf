package dev.netrun.exec;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs a test method once per {@link PoolKind} in {@link PoolKind#all()}; the method takes the kind as its
 * parameter. This is how one behaviour spec covers every pool kind.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "[{0} pool]")
@MethodSource("dev.netrun.exec.PoolKind#all")
public @interface ForEachPoolKind {
}
