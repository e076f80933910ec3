package dev.burrow.netlab;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class that builds a {@link NetLab}: skipped with the reason when the machine cannot
 * (no root, no namespaces), failed instead when {@code CI=true}. Tagged {@code netlab} so a run can
 * select or exclude these tests ({@code -Dgroups=netlab}).
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(NetLabExtension.class)
@Tag("netlab")
public @interface RequiresNetLab {}
